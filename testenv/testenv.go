// Package testenv holds helpers shared by the unit, database and end-to-end
// tests: strict mode (missing dependencies fail instead of skipping), the
// Postgres URI, free loopback ports and log tails.
//
// Strict mode exists so that `make test` and CI cannot pass by silently
// skipping the tests that need Postgres or Synapse.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StrictEnv turns skips for missing dependencies into failures when set to 1.
const StrictEnv = "IMBRIDGE_TEST_STRICT"

// PostgresEnv holds the URI of a throwaway Postgres database
// (see scripts/postgres.sh).
const PostgresEnv = "IMBRIDGE_TEST_POSTGRES_URI"

// Strict reports whether missing test dependencies must fail the run.
func Strict() bool {
	return os.Getenv(StrictEnv) == "1"
}

// Require skips the test when ok is false, or fails it in strict mode.
// what names the missing dependency and how to provide it.
func Require(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if Strict() {
		t.Fatalf("missing test dependency (%s=1 makes this fatal): %s", StrictEnv, what)
		return // only reached with a fake testing.TB
	}
	t.Skipf("skipping: missing test dependency: %s", what)
}

// Postgres returns the URI of the test Postgres database, skipping the test
// (or failing it in strict mode) when none is configured.
func Postgres(t testing.TB) string {
	t.Helper()
	uri := os.Getenv(PostgresEnv)
	Require(t, PostgresEnv+" is not set; start one with: eval \"$(scripts/postgres.sh start)\"", uri != "")
	return uri
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// There is a small race until the caller binds it; callers that start
// servers retry or fail with a clear message.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot returns the directory holding the module's go.mod, searching
// upwards from the working directory (tests run in their package dir).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("get working directory: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/imbridge/imbridge") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod of github.com/imbridge/imbridge) not found above the working directory")
		}
		dir = parent
	}
}

// Tail returns the last n lines of the file at path, or a note saying why
// it could not be read. It is meant for failure messages.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return TailString(string(data), n)
}

// maxLineLen keeps failure output readable: debug logs carry long
// ciphertexts and request bodies.
const maxLineLen = 400

// TailString returns the last n lines of s, each cut to a readable length.
func TailString(s string, n int) string {
	return TailFiltered(s, n, nil)
}

// TailFiltered is TailString over the lines for which keep returns true
// (all lines if keep is nil).
func TailFiltered(s string, n int, keep func(line string) bool) string {
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if keep != nil && !keep(line) {
			continue
		}
		if len(line) > maxLineLen {
			line = line[:maxLineLen] + " …"
		}
		lines = append(lines, line)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RandomString returns 2*n random hex characters, for passwords and
// secrets in tests and the demo.
func RandomString(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

// WaitHTTPOK polls url until it answers 200 OK, the process p exits, or the
// timeout passes; name says what is awaited in the error.
func WaitHTTPOK(ctx context.Context, url string, timeout time.Duration, p *Process, name string) error {
	return WaitHTTPOKEvery(ctx, url, timeout, 200*time.Millisecond, p, name)
}

// WaitHTTPOKEvery is WaitHTTPOK polling every interval; start-up
// benchmarks poll often so the poll does not blur the figure.
func WaitHTTPOKEvery(ctx context.Context, url string, timeout, interval time.Duration, p *Process, name string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited during start-up (code %d: %v)", name, p.ExitCode(), p.ExitErr())
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer %s within %s", name, url, timeout)
		case <-time.After(interval):
		}
	}
}
