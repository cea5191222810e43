// Command testreport reads `go test -json` output on stdin and prints a
// short report: one line per package, the output of every failed test,
// every skipped test with its reason, and a closing
// "N passed, N failed, N skipped" line. It exits non-zero when anything
// failed, when any test was skipped (a skip means a dependency was
// missing, and `make test` must not pass without it), or when no test ran.
//
//	go test -json ./... | go run ./scripts/testreport
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type report struct {
	out                     io.Writer
	allowSkip               bool
	passed, failed, skipped int
	failedPackages          []string
	// output buffers each test's lines until we know whether it failed.
	output map[string][]string
}

func main() {
	allowSkip := flag.Bool("allow-skip", false, "do not fail because of skipped tests")
	flag.Parse()
	r := &report{out: os.Stdout, allowSkip: *allowSkip, output: map[string][]string{}}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	os.Exit(r.finish())
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			// Not a test2json line: compiler errors and the like.
			fmt.Fprintln(r.out, string(line))
			continue
		}
		r.handle(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read go test output: %w", err)
	}
	return nil
}

func (r *report) handle(ev event) {
	key := ev.Package + " " + ev.Test
	switch ev.Action {
	case "output", "build-output":
		r.output[key] = append(r.output[key], ev.Output)
		if ev.Action == "build-output" {
			fmt.Fprint(r.out, ev.Output)
		}
	case "pass":
		if ev.Test != "" {
			r.passed++
		} else {
			fmt.Fprintf(r.out, "ok   %s (%.1fs)\n", ev.Package, ev.Elapsed)
		}
		delete(r.output, key)
	case "skip":
		if ev.Test != "" {
			r.skipped++
			fmt.Fprintf(r.out, "SKIP %s %s\n%s", ev.Package, ev.Test, indent(r.output[key]))
		} else if !hasNoTestFiles(r.output[key]) {
			fmt.Fprintf(r.out, "skip %s\n", ev.Package)
		}
		delete(r.output, key)
	case "fail":
		if ev.Test != "" {
			r.failed++
			fmt.Fprintf(r.out, "FAIL %s %s (%.1fs)\n%s", ev.Package, ev.Test, ev.Elapsed, indent(r.output[key]))
		} else {
			r.failedPackages = append(r.failedPackages, ev.Package)
			fmt.Fprintf(r.out, "FAIL %s (%.1fs)\n%s", ev.Package, ev.Elapsed, indent(r.output[key]))
		}
		delete(r.output, key)
	}
}

func (r *report) finish() int {
	fmt.Fprintf(r.out, "%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped)
	switch {
	case r.failed > 0 || len(r.failedPackages) > 0:
		fmt.Fprintf(r.out, "FAILED: %d test(s) failed; packages failing: %s\n", r.failed, strings.Join(r.failedPackages, " "))
		return 1
	case r.skipped > 0 && !r.allowSkip:
		fmt.Fprintf(r.out, "FAILED: %d test(s) skipped; a skip means a missing test dependency\n", r.skipped)
		return 1
	case r.passed == 0:
		fmt.Fprintln(r.out, "FAILED: no test ran")
		return 1
	}
	return 0
}

func hasNoTestFiles(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "[no test files]") {
			return true
		}
	}
	return false
}

// indent drops go test's own "=== RUN"/"--- PASS" framing lines and
// indents the rest.
func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") {
			continue
		}
		b.WriteString("    " + strings.TrimRight(l, "\n") + "\n")
	}
	return b.String()
}
