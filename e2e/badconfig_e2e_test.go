//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// badConfigExitWithin bounds how long a misconfigured bridge may take to
// give up. The unreachable-homeserver case is the slow one: the bridge
// waits a short, configurable time for the homeserver before failing.
const badConfigExitWithin = 90 * time.Second

var (
	// consoleLevel captures the level of a zerolog console ("pretty") line.
	consoleLevel = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\S+ ([A-Z]{3}) `)
	// jsonLevel captures the level of a zerolog JSON line.
	jsonLevel = regexp.MustCompile(`"level":"([a-z]+)"`)
	// failureWords mark a plain (non-log) line as an error report.
	failureWords = regexp.MustCompile(`(?i)\b(error|fatal|failed|cannot|unable)\b`)
)

// isErrorLine reports whether a line of bridge output reports an error:
// a log line at error level or above, or a plain line saying something
// failed. Log lines at lower levels never count, even if they mention an
// error field.
func isErrorLine(line string) bool {
	if m := consoleLevel.FindStringSubmatch(line); m != nil {
		return m[1] == "ERR" || m[1] == "FTL" || m[1] == "PNC"
	}
	if m := jsonLevel.FindStringSubmatch(line); m != nil {
		return m[1] == "error" || m[1] == "fatal" || m[1] == "panic"
	}
	return failureWords.MatchString(line)
}

// TestBadConfigFailsCleanly starts the real binary with one broken setting
// at a time: it must exit non-zero, quickly, saying what is wrong in an
// error line, without a Go panic or stack trace.
func TestBadConfigFailsCleanly(t *testing.T) {
	requireEnv(t)
	cases := []struct {
		name     string
		settings map[string]any
		keyword  string // the error line must mention it (case-insensitive)
	}{
		{"unknown protocol section", map[string]any{"network.foo": map[string]any{}}, "foo"},
		{"unreachable postgres", map[string]any{
			"database.type": "postgres",
			"database.uri":  "postgres://nouser@127.0.0.1:1/x?sslmode=disable",
		}, "database"},
		{"unwritable sqlite path", map[string]any{
			"database.type": "sqlite3-fk-wal",
			"database.uri":  "file:/proc/imbridge-e2e/imbridge.db?_txlock=immediate",
		}, "database"},
		// network.homeserver_wait bounds the bridge's wait for the
		// homeserver; short here so the test is quick.
		{"unreachable homeserver", map[string]any{
			"homeserver.address":      "http://127.0.0.1:1",
			"network.homeserver_wait": "5s",
		}, "homeserver"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			// A complete, valid set-up first (config, registration), so the
			// only fault is the one under test.
			b, err := bridgeproc.New(ctx, bridgeproc.Options{
				Dir:              t.TempDir(),
				HomeserverURL:    env.Synapse.URL,
				HomeserverDomain: env.Synapse.ServerName,
			})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := b.Config()
			if err != nil {
				t.Fatal(err)
			}
			for key, value := range c.settings {
				if err := cfg.Set(key, value); err != nil {
					t.Fatal(err)
				}
			}
			if err := cfg.Save(); err != nil {
				t.Fatal(err)
			}
			res, err := b.Run(ctx, badConfigExitWithin)
			if res == nil {
				t.Fatalf("run bridge: %v", err)
			}
			if res.TimedOut {
				t.Fatalf("bridge still running after %s with %s; it must give up and exit. Output:\n%s", badConfigExitWithin, c.name, testenv.TailString(res.Output, 40))
			}
			if res.ExitCode == 0 {
				t.Errorf("bridge exited with status 0 despite %s", c.name)
			}
			for _, bad := range []string{"goroutine ", "panic:"} {
				if strings.Contains(res.Output, bad) {
					t.Errorf("output contains %q (a Go panic or stack trace):\n%s", bad, testenv.TailString(res.Output, 40))
				}
			}
			if line := findErrorLine(res.Output, c.keyword); line == "" {
				t.Errorf("no error line mentioning %q in the output:\n%s", c.keyword, testenv.TailString(res.Output, 40))
			} else {
				t.Logf("exit %d after %s; error line: %s", res.ExitCode, res.Duration.Round(time.Millisecond), line)
			}
		})
	}
}

func findErrorLine(output, keyword string) string {
	for _, line := range strings.Split(output, "\n") {
		if isErrorLine(line) && strings.Contains(strings.ToLower(line), strings.ToLower(keyword)) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
