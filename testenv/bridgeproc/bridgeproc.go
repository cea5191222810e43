// Package bridgeproc runs the real imbridge binary for end-to-end tests and
// the demo: it generates the config with -e, points it at a homeserver,
// generates the appservice registration with -g, and starts, stops, kills
// and restarts the process.
package bridgeproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/imbridge/imbridge/testenv"
)

// Options configure a bridge instance.
type Options struct {
	// Binary is the imbridge executable (default: Binary()).
	Binary string
	// Dir holds config.yaml, registration.yaml, the SQLite DB and logs.
	// It must exist. Reusing a Dir that already has a config.yaml keeps
	// that config (and thereby the registration, DB and pickle key), so
	// a demo restart keeps its logins.
	Dir string
	// HomeserverURL and HomeserverDomain point the bridge at Matrix.
	HomeserverURL    string
	HomeserverDomain string
	// Port is the appservice port on 127.0.0.1 (default: a free port).
	Port int
	// MetricsPort is the Prometheus port on 127.0.0.1 (default: free).
	MetricsPort int
	// DatabaseType and DatabaseURI override the default SQLite file
	// file:<Dir>/imbridge.db?_txlock=immediate (type sqlite3-fk-wal).
	DatabaseType, DatabaseURI string
	// Permissions override the default {"*": relay, <domain>: admin}.
	Permissions map[string]string
	// DisableEncryption turns end-to-bridge encryption off; it is on by
	// default because Element creates encrypted DMs with the bot.
	DisableEncryption bool
	// Edit is called after the standard edits and before -g, for test-
	// specific settings such as protocol emulator URLs under network.*.
	// It is also applied to a reused config (only Edit: the standard
	// settings such as the pickle key must not be reset).
	Edit func(*Config) error
	// Args are extra command-line arguments for every run.
	Args []string
}

// Bridge is one configured bridge instance.
type Bridge struct {
	Dir              string
	ConfigPath       string
	RegistrationPath string
	// LogPath is the JSON debug log written by the bridge itself;
	// StdoutPath is everything it printed (human-readable log).
	LogPath    string
	StdoutPath string
	// AppserviceURL is where the homeserver reaches the bridge.
	AppserviceURL string
	// MetricsURL is the Prometheus endpoint, e.g. http://127.0.0.1:1234/metrics.
	MetricsURL string

	// ReadyPoll is how often Start asks whether the bridge is ready
	// (default 200ms); the start-up benchmark polls more often.
	ReadyPoll time.Duration

	binary string
	args   []string
	proc   *testenv.Process
}

// New prepares a bridge in opts.Dir: config from -e plus edits, then the
// registration from -g. It does not start the process.
func New(ctx context.Context, opts Options) (*Bridge, error) {
	if opts.Dir == "" {
		return nil, errors.New("bridgeproc: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve bridge dir: %w", err)
	}
	b := &Bridge{
		Dir:              dir,
		ConfigPath:       filepath.Join(dir, "config.yaml"),
		RegistrationPath: filepath.Join(dir, "registration.yaml"),
		LogPath:          filepath.Join(dir, "logs", "bridge.log"),
		StdoutPath:       filepath.Join(dir, "stdout.log"),
		binary:           opts.Binary,
		args:             opts.Args,
	}
	if b.binary == "" {
		if b.binary, err = Binary(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(b.ConfigPath); err == nil {
		if err := b.reconfigure(opts.Edit); err != nil {
			return nil, err
		}
		return b, b.loadAddresses()
	}
	if err := b.generateConfig(ctx, opts); err != nil {
		return nil, err
	}
	if _, err := b.runBounded(ctx, time.Minute, "-g", "-c", b.ConfigPath, "-r", b.RegistrationPath); err != nil {
		return nil, fmt.Errorf("generate registration: %w", err)
	}
	return b, b.loadAddresses()
}

// generateConfig writes the example config with -e and applies the test
// settings.
func (b *Bridge) generateConfig(ctx context.Context, opts Options) error {
	if _, err := b.runBounded(ctx, time.Minute, "-e", "-c", b.ConfigPath); err != nil {
		return fmt.Errorf("generate example config: %w", err)
	}
	cfg, err := OpenConfig(b.ConfigPath)
	if err != nil {
		return err
	}
	port, metricsPort := opts.Port, opts.MetricsPort
	for _, p := range []*int{&port, &metricsPort} {
		if *p == 0 {
			if *p, err = testenv.FreePort(); err != nil {
				return err
			}
		}
	}
	dbType, dbURI := opts.DatabaseType, opts.DatabaseURI
	if dbType == "" {
		dbType = "sqlite3-fk-wal"
		dbURI = "file:" + filepath.Join(b.Dir, "imbridge.db") + "?_txlock=immediate"
	}
	perms := opts.Permissions
	if perms == nil {
		perms = map[string]string{"*": "relay", opts.HomeserverDomain: "admin"}
	}
	settings := []struct {
		key   string
		value any
	}{
		{"homeserver.address", opts.HomeserverURL},
		{"homeserver.domain", opts.HomeserverDomain},
		{"appservice.address", fmt.Sprintf("http://127.0.0.1:%d", port)},
		{"appservice.hostname", "127.0.0.1"},
		{"appservice.port", port},
		{"database.type", dbType},
		{"database.uri", dbURI},
		{"bridge.permissions", perms},
		{"encryption.allow", !opts.DisableEncryption},
		{"encryption.default", !opts.DisableEncryption},
		{"encryption.pickle_key", "generate"},
		{"network.metrics.enabled", true},
		{"network.metrics.listen", fmt.Sprintf("127.0.0.1:%d", metricsPort)},
		{"logging", map[string]any{
			"min_level": "debug",
			"writers": []map[string]any{
				{"type": "stdout", "format": "pretty"},
				{"type": "file", "format": "json", "filename": b.LogPath},
			},
		}},
	}
	for _, s := range settings {
		if err := cfg.Set(s.key, s.value); err != nil {
			return err
		}
	}
	if opts.Edit != nil {
		if err := opts.Edit(cfg); err != nil {
			return fmt.Errorf("custom config edit: %w", err)
		}
	}
	return cfg.Save()
}

// reconfigure applies edit to an existing config.
func (b *Bridge) reconfigure(edit func(*Config) error) error {
	if edit == nil {
		return nil
	}
	cfg, err := OpenConfig(b.ConfigPath)
	if err != nil {
		return err
	}
	if err := edit(cfg); err != nil {
		return fmt.Errorf("custom config edit: %w", err)
	}
	return cfg.Save()
}

// loadAddresses reads the appservice and metrics addresses back from the
// config, so reused directories report the right URLs.
func (b *Bridge) loadAddresses() error {
	cfg, err := OpenConfig(b.ConfigPath)
	if err != nil {
		return err
	}
	b.AppserviceURL = cfg.GetString("appservice.address")
	if listen := cfg.GetString("network.metrics.listen"); listen != "" {
		b.MetricsURL = "http://" + listen + "/metrics"
	}
	return nil
}

// Config opens the bridge's config for reading or editing. The bridge
// rewrites the file on start, so read it after Start for final values.
func (b *Bridge) Config() (*Config, error) { return OpenConfig(b.ConfigPath) }

// Start starts the bridge and waits until its appservice reports ready
// (/_matrix/mau/ready), which mautrix sets once the homeserver connection,
// the encryption device and the event processor are up.
func (b *Bridge) Start(ctx context.Context) error {
	if b.proc != nil && !b.proc.Exited() {
		return errors.New("bridge already running")
	}
	proc, err := b.startProcess("-c", b.ConfigPath, "-r", b.RegistrationPath)
	if err != nil {
		return err
	}
	b.proc = proc
	if err := b.waitReady(ctx, 2*time.Minute); err != nil {
		_ = b.proc.Stop(10 * time.Second)
		return fmt.Errorf("%w\n--- bridge output (last lines) ---\n%s", err, b.OutputTail(40))
	}
	return nil
}

func (b *Bridge) startProcess(args ...string) (*testenv.Process, error) {
	if err := os.MkdirAll(filepath.Dir(b.LogPath), 0o700); err != nil {
		return nil, fmt.Errorf("create bridge log dir: %w", err)
	}
	out, err := os.OpenFile(b.StdoutPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open bridge output file: %w", err)
	}
	defer out.Close()
	fmt.Fprintf(out, "\n==== %s starting %s %v ====\n", time.Now().Format(time.RFC3339), b.binary, args)
	cmd := exec.Command(b.binary, append(args, b.args...)...)
	cmd.Dir = b.Dir
	cmd.Stdout, cmd.Stderr = out, out
	return testenv.StartProcess(cmd)
}

func (b *Bridge) waitReady(ctx context.Context, timeout time.Duration) error {
	poll := b.ReadyPoll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	return testenv.WaitHTTPOKEvery(ctx, b.AppserviceURL+"/_matrix/mau/ready", timeout, poll, b.proc, "bridge")
}

// Pid returns the process ID of the running bridge, or 0 when it was never
// started; the benchmarks read its resident memory from /proc.
func (b *Bridge) Pid() int {
	if b.proc == nil {
		return 0
	}
	return b.proc.Pid()
}

// Running reports whether the bridge process is alive.
func (b *Bridge) Running() bool { return b.proc != nil && !b.proc.Exited() }

// Stop stops the bridge gracefully (SIGTERM, SIGKILL after 30s). An error
// means it had to be killed or failed to stop.
func (b *Bridge) Stop() error {
	if b.proc == nil {
		return nil
	}
	if err := b.proc.Stop(30 * time.Second); err != nil {
		return fmt.Errorf("stop bridge: %w", err)
	}
	return nil
}

// Kill kills the bridge with SIGKILL, for crash-recovery tests.
func (b *Bridge) Kill() error {
	if b.proc == nil {
		return nil
	}
	return b.proc.Kill()
}

// Restart stops the bridge (gracefully unless it already exited) and
// starts it again with the same config and database.
func (b *Bridge) Restart(ctx context.Context) error {
	if err := b.Stop(); err != nil {
		return err
	}
	return b.Start(ctx)
}

// ExitCode returns the exit code of the last run, -1 while running.
func (b *Bridge) ExitCode() int {
	if b.proc == nil {
		return -1
	}
	return b.proc.ExitCode()
}

// Result is the outcome of a bounded one-shot run.
type Result struct {
	ExitCode int
	Output   string
	Duration time.Duration
	TimedOut bool
}

// Run runs the binary once with the bridge's config plus args and waits
// at most timeout for it to exit (it is killed after that). Bad-config
// tests use it to check that start-up fails quickly and clearly.
func (b *Bridge) Run(ctx context.Context, timeout time.Duration, args ...string) (*Result, error) {
	return b.runBounded(ctx, timeout, append([]string{"-c", b.ConfigPath, "-r", b.RegistrationPath}, args...)...)
}

// Version returns what `imbridge --version` prints, e.g.
// "imbridge 0.1.0+dev.unknown (built with go1.26.8)".
func (b *Bridge) Version(ctx context.Context) (string, error) {
	res, err := b.runBounded(ctx, 30*time.Second, "--version")
	if err != nil {
		return "", fmt.Errorf("imbridge --version: %w", err)
	}
	return strings.TrimSpace(res.Output), nil
}

// runBounded runs the binary, capturing its output, for at most timeout.
// It returns an error for a non-zero exit or a timeout, with the result
// filled in either way.
func (b *Bridge) runBounded(ctx context.Context, timeout time.Duration, args ...string) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.binary, args...)
	cmd.Dir = b.Dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	res := &Result{ExitCode: -1, Output: string(out), Duration: time.Since(start)}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		res.TimedOut = true
		return res, fmt.Errorf("%s %v did not exit within %s\n%s", filepath.Base(b.binary), args, timeout, testenv.TailString(res.Output, 30))
	}
	if err != nil {
		return res, fmt.Errorf("%s %v: %w\n%s", filepath.Base(b.binary), args, err, testenv.TailString(res.Output, 30))
	}
	return res, nil
}

// OutputTail returns the last n lines the bridge printed.
func (b *Bridge) OutputTail(n int) string { return testenv.Tail(b.StdoutPath, n) }

// debugLine matches zerolog console lines below INFO.
var debugLine = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\S+ (DBG|TRC) `)

// ImportantOutput returns the last n lines the bridge printed, leaving out
// debug and trace log lines, for post-mortems.
func (b *Bridge) ImportantOutput(n int) string {
	data, err := os.ReadFile(b.StdoutPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", b.StdoutPath, err)
	}
	return testenv.TailFiltered(string(data), n, func(line string) bool { return !debugLine.MatchString(line) })
}
