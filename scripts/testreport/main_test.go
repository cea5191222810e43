package main

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, allowSkip bool, lines ...string) (code int, out string) {
	t.Helper()
	var buf bytes.Buffer
	r := &report{out: &buf, allowSkip: allowSkip, output: map[string][]string{}}
	if err := r.read(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	return r.finish(), buf.String()
}

const (
	passA   = `{"Action":"pass","Package":"p","Test":"TestA"}`
	pkgPass = `{"Action":"pass","Package":"p","Elapsed":0.1}`
)

func TestAllPassing(t *testing.T) {
	code, out := run(t, false, passA, pkgPass)
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed, 0 skipped") {
		t.Fatalf("code %d, output:\n%s", code, out)
	}
}

func TestFailureShowsOutput(t *testing.T) {
	code, out := run(t, false,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB"}`,
		passA,
		`{"Action":"fail","Package":"p"}`)
	if code == 0 {
		t.Fatal("a failed test gave exit code 0")
	}
	for _, want := range []string{"FAIL p TestB", "boom", "1 passed, 1 failed, 0 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSkipFailsUnlessAllowed(t *testing.T) {
	lines := []string{
		`{"Action":"output","Package":"p","Test":"TestC","Output":"    skipping: no postgres\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestC"}`,
		passA, pkgPass,
	}
	code, out := run(t, false, lines...)
	if code == 0 || !strings.Contains(out, "no postgres") {
		t.Fatalf("skip not reported as failure: code %d\n%s", code, out)
	}
	if code, _ := run(t, true, lines...); code != 0 {
		t.Fatalf("-allow-skip still failed with code %d", code)
	}
}

func TestNoTestsFails(t *testing.T) {
	code, out := run(t, false, `{"Action":"output","Package":"q","Output":"?   \tq\t[no test files]\n"}`, `{"Action":"skip","Package":"q"}`)
	if code == 0 || !strings.Contains(out, "no test ran") {
		t.Fatalf("code %d, output:\n%s", code, out)
	}
}

func TestBuildErrorsPassThrough(t *testing.T) {
	code, out := run(t, false, "# p\n./x.go:1: syntax error", `{"Action":"fail","Package":"p"}`)
	if code == 0 || !strings.Contains(out, "syntax error") {
		t.Fatalf("code %d, output:\n%s", code, out)
	}
}
