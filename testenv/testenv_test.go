package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder captures Fatalf/Skipf instead of stopping the goroutine.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestRequire(t *testing.T) {
	cases := []struct {
		strict, ok          bool
		wantFatal, wantSkip bool
	}{
		{strict: false, ok: true},
		{strict: true, ok: true},
		{strict: false, ok: false, wantSkip: true},
		{strict: true, ok: false, wantFatal: true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("strict=%t,ok=%t", c.strict, c.ok), func(t *testing.T) {
			v := ""
			if c.strict {
				v = "1"
			}
			t.Setenv(StrictEnv, v)
			r := &recorder{}
			Require(r, "thing", c.ok)
			if (r.fatal != "") != c.wantFatal || (r.skip != "") != c.wantSkip {
				t.Fatalf("fatal=%q skip=%q, want fatal=%t skip=%t", r.fatal, r.skip, c.wantFatal, c.wantSkip)
			}
		})
	}
}

func TestPostgresURI(t *testing.T) {
	t.Setenv(PostgresEnv, "postgres://u@127.0.0.1:5/db")
	if got := Postgres(t); got != "postgres://u@127.0.0.1:5/db" {
		t.Fatalf("Postgres() = %q", got)
	}
	t.Setenv(PostgresEnv, "")
	t.Setenv(StrictEnv, "1")
	r := &recorder{}
	Postgres(r)
	if r.fatal == "" {
		t.Fatal("missing URI in strict mode did not fail")
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Tail(path, 2); got != "b\nc" {
		t.Fatalf("Tail = %q, want %q", got, "b\nc")
	}
	if got := Tail(filepath.Join(t.TempDir(), "missing"), 2); got == "" {
		t.Fatal("Tail of a missing file gave no explanation")
	}
}

func TestFreePortAndRepoRoot(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 {
		t.Fatalf("FreePort() = %d, %v", p, err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "testenv", "testenv.go")); err != nil {
		t.Fatalf("RepoRoot() = %s, which does not hold testenv/: %v", root, err)
	}
}
