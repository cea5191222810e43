// Command imbridge-demo runs a complete local imbridge set-up for trying the
// bridge by hand: a Synapse homeserver (from the chroot of
// scripts/synapse.sh, installed on first use), the imbridge binary
// registered with it, and the protocol emulators. It creates a Matrix user,
// prints how to log in, and runs until Ctrl-C. All state lives in -data, so
// a restart keeps accounts, rooms and bridge logins.
//
//	make demo            # or: go run -tags goolm ./cmd/imbridge-demo -binary bin/imbridge
//	make demo DEMO_HS_PORT=8448   # ports: -hs-port, -bridge-port, -lync-port, -metrics-port, -teams-port, -skype-port
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
	"github.com/imbridge/imbridge/testenv/stack"
	"github.com/imbridge/imbridge/testenv/synapse"
)

type options struct {
	dataDir    string
	serverName string
	hsPort     int
	bridgePort int
	binary     string
	username   string
	lyncPort   int
	teamsPort  int
	skypePort  int
	// metricsPort is the bridge's Prometheus endpoint (network.metrics).
	metricsPort int
}

func main() {
	var o options
	flag.StringVar(&o.dataDir, "data", "./demo-data", "directory for all demo state (kept between runs)")
	flag.StringVar(&o.serverName, "server-name", "localhost", "Matrix server name of the demo homeserver")
	flag.IntVar(&o.hsPort, "hs-port", 8008, "port of the homeserver on 127.0.0.1")
	flag.IntVar(&o.bridgePort, "bridge-port", 29340, "port of the bridge's appservice API on 127.0.0.1 (fixed on first run)")
	flag.StringVar(&o.binary, "binary", "", "imbridge binary (default: build ./cmd/imbridge)")
	flag.StringVar(&o.username, "user", "demo", "localpart of the demo Matrix user")
	flag.IntVar(&o.lyncPort, "lync-port", 29341, "port of the Skype for Business (UCWA) emulator on 127.0.0.1 (fixed on first run)")
	flag.IntVar(&o.metricsPort, "metrics-port", 29342, "port of the bridge's Prometheus metrics on 127.0.0.1")
	flag.IntVar(&o.teamsPort, "teams-port", 29343, "port of the Microsoft Teams emulator on 127.0.0.1")
	flag.IntVar(&o.skypePort, "skype-port", 29344, "port of the Skype web API emulator on 127.0.0.1")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "imbridge-demo:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: Synapse runs in a chroot")
	}
	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return fmt.Errorf("resolve data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// Busy ports first: otherwise the first sign would be a traceback in
	// Synapse's log, minutes into a first run.
	ports, err := demoPorts(dataDir, o)
	if err != nil {
		return err
	}
	if err := checkPorts(ports); err != nil {
		return err
	}
	if err := ensureSynapse(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	emus, err := startEmulators(ctx, dataDir, o)
	defer stopEmulators(emus)
	if err != nil {
		return err
	}

	step("starting Synapse and the bridge (state in %s)", dataDir)
	st, err := stack.Start(ctx, stack.Options{
		DataDir:      dataDir,
		ServerName:   o.serverName,
		SynapsePort:  o.hsPort,
		BridgePort:   o.bridgePort,
		BridgeBinary: o.binary,
		BridgeEdit: func(cfg *bridgeproc.Config) error {
			if err := cfg.Set("network.metrics.enabled", true); err != nil {
				return err
			}
			if err := cfg.Set("network.metrics.listen", fmt.Sprintf("127.0.0.1:%d", o.metricsPort)); err != nil {
				return err
			}
			return configureEmulators(cfg, emus)
		},
	})
	if st != nil {
		defer func() {
			step("stopping the bridge and Synapse")
			st.Close(true)
		}()
	}
	if err != nil {
		return err
	}
	user, err := ensureUser(ctx, st.Synapse, dataDir, o.username)
	if err != nil {
		return err
	}
	printInstructions(st, user, emus)

	return supervise(ctx, st)
}

// ensureSynapse installs the Synapse chroot on first use; the script shows
// its own progress.
func ensureSynapse() error {
	if v, ok := synapse.Installed(synapse.Root()); ok {
		step("using Synapse %s from %s", v, synapse.Root())
		return nil
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return fmt.Errorf("find scripts/synapse.sh: %w", err)
	}
	step("installing Synapse into %s (first run only: a few minutes)", synapse.Root())
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "synapse.sh"), "install")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install synapse: %w", err)
	}
	return nil
}

// supervise waits for Ctrl-C, and reports if the bridge or Synapse die.
func supervise(ctx context.Context, st *stack.Stack) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr)
			return nil
		case <-tick.C:
		}
		if !st.Bridge.Running() {
			return fmt.Errorf("the bridge exited (code %d); last output:\n%s", st.Bridge.ExitCode(), st.Bridge.OutputTail(30))
		}
		if !st.Synapse.Running() {
			return fmt.Errorf("synapse exited; last log lines:\n%s", testenv.Tail(st.Synapse.LogPath(), 30))
		}
	}
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...)
}
