package main

import (
	"strings"
	"testing"
)

func check(t *testing.T, allowSkip bool, lines ...string) []string {
	t.Helper()
	c := &checker{allowSkip: allowSkip, pkgs: map[string]*pkgState{}}
	if err := c.read(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	return c.problems()
}

const (
	runA    = `{"Action":"run","Package":"p","Test":"TestA"}`
	passA   = `{"Action":"pass","Package":"p","Test":"TestA"}`
	pkgPass = `{"Action":"pass","Package":"p"}`
)

func TestAllPassing(t *testing.T) {
	if p := check(t, false, runA, passA, pkgPass); len(p) != 0 {
		t.Fatalf("problems: %q", p)
	}
}

func TestSkipFails(t *testing.T) {
	lines := []string{
		runA, passA,
		`{"Action":"run","Package":"p","Test":"TestDB"}`,
		`{"Action":"skip","Package":"p","Test":"TestDB"}`,
		pkgPass,
	}
	p := check(t, false, lines...)
	if len(p) != 1 || !strings.Contains(p[0], "skipped: p TestDB") {
		t.Fatalf("problems: %q", p)
	}
	if p := check(t, true, lines...); len(p) != 0 {
		t.Fatalf("with -allow-skip, problems: %q", p)
	}
}

func TestPackageWithZeroTestsFails(t *testing.T) {
	p := check(t, false, runA, passA, pkgPass,
		`{"Action":"output","Package":"q","Output":"ok  \tq\t0.01s [no tests to run]\n"}`,
		`{"Action":"pass","Package":"q"}`)
	if len(p) != 1 || !strings.Contains(p[0], "package q has test files but ran zero tests") {
		t.Fatalf("problems: %q", p)
	}
}

func TestPackageWithoutTestFilesIsFine(t *testing.T) {
	p := check(t, false, runA, passA, pkgPass,
		`{"Action":"output","Package":"r","Output":"?   \tr\t[no test files]\n"}`,
		`{"Action":"skip","Package":"r"}`)
	if len(p) != 0 {
		t.Fatalf("problems: %q", p)
	}
}

func TestSubtestsDoNotCountAsPackageTests(t *testing.T) {
	c := &checker{pkgs: map[string]*pkgState{}}
	_ = c.read(strings.NewReader(strings.Join([]string{runA,
		`{"Action":"run","Package":"p","Test":"TestA/sub"}`, passA, pkgPass}, "\n")))
	if c.ran != 1 {
		t.Fatalf("ran = %d, want 1", c.ran)
	}
}

func TestNothingRanFails(t *testing.T) {
	p := check(t, false, `{"Action":"output","Package":"r","Output":"?   \tr\t[no test files]\n"}`, `{"Action":"skip","Package":"r"}`)
	if len(p) != 1 || !strings.Contains(p[0], "no test ran") {
		t.Fatalf("problems: %q", p)
	}
}
