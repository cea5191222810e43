// Command teststrict checks a `go test -json` log (gotestsum --jsonfile)
// for the ways a run can look green without testing anything, which
// gotestsum itself does not fail on:
//
//   - a skipped test: in `make test` a skip means a dependency (PostgreSQL,
//     Synapse) was missing, and the run must not pass without it;
//   - a package that has test files but ran zero tests (a build-tag or
//     -run mistake that silently drops a suite);
//   - a log in which no test ran at all.
//
// gotestsum prints the results and owns go test's exit status; teststrict
// only adds these checks. Usage:
//
//	go run ./scripts/teststrict [-allow-skip] unit.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type pkgState struct {
	ran         int  // top-level tests that started
	noTestFiles bool // "? pkg [no test files]"
	done        bool // package-level pass/fail/skip seen
	failed      bool
}

type checker struct {
	allowSkip bool
	pkgs      map[string]*pkgState
	skipped   []string
	ran       int
}

func main() {
	allowSkip := flag.Bool("allow-skip", false, "do not fail because of skipped tests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: teststrict [-allow-skip] <go test -json file>")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "teststrict:", err)
		os.Exit(2)
	}
	defer f.Close()
	c := &checker{allowSkip: *allowSkip, pkgs: map[string]*pkgState{}}
	if err := c.read(f); err != nil {
		fmt.Fprintln(os.Stderr, "teststrict:", err)
		os.Exit(2)
	}
	problems := c.problems()
	for _, p := range problems {
		fmt.Println("teststrict:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("teststrict: %d tests ran in %d packages; no skips, no empty packages\n", c.ran, c.packagesWithTests())
}

func (c *checker) pkg(name string) *pkgState {
	p := c.pkgs[name]
	if p == nil {
		p = &pkgState{}
		c.pkgs[name] = p
	}
	return p
}

func (c *checker) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Package == "" {
			continue // build output and the like; gotestsum shows it
		}
		c.handle(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read test log: %w", err)
	}
	return nil
}

func (c *checker) handle(ev event) {
	p := c.pkg(ev.Package)
	topLevel := ev.Test != "" && !strings.Contains(ev.Test, "/")
	switch ev.Action {
	case "run":
		if topLevel {
			p.ran++
			c.ran++
		}
	case "output":
		if ev.Test == "" && strings.Contains(ev.Output, "[no test files]") {
			p.noTestFiles = true
		}
	case "skip":
		if ev.Test != "" {
			c.skipped = append(c.skipped, ev.Package+" "+ev.Test)
		} else {
			p.done = true
		}
	case "pass", "fail":
		if ev.Test == "" {
			p.done = true
			p.failed = p.failed || ev.Action == "fail"
		}
	}
}

func (c *checker) packagesWithTests() int {
	n := 0
	for _, p := range c.pkgs {
		if p.ran > 0 {
			n++
		}
	}
	return n
}

func (c *checker) problems() []string {
	var out []string
	if !c.allowSkip {
		for _, s := range c.skipped {
			out = append(out, "skipped: "+s+" (a skip means a missing test dependency)")
		}
	}
	var empty []string
	for name, p := range c.pkgs {
		// A failed package without tests is a build failure, which go
		// test (and so gotestsum) already reports.
		if p.done && !p.noTestFiles && !p.failed && p.ran == 0 {
			empty = append(empty, name)
		}
	}
	sort.Strings(empty)
	for _, name := range empty {
		out = append(out, "package "+name+" has test files but ran zero tests")
	}
	if c.ran == 0 {
		out = append(out, "no test ran at all")
	}
	return out
}
