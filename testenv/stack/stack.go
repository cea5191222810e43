// Package stack starts the whole test system: Synapse from the chroot and
// the imbridge binary registered with it as an appservice. The e2e tests
// and cmd/imbridge-demo share it. Protocol emulators (UCWA for Lync,
// Skype, Teams) plug in through Options.BridgeEdit, which points the
// bridge's network.* config at them.
package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/testenv/bridgeproc"
	"github.com/imbridge/imbridge/testenv/synapse"
)

// Options configure a stack. The zero value (plus DataDir) suits tests.
type Options struct {
	// DataDir holds synapse/ and bridge/ subdirectories. Reusing one
	// keeps all state (demo restarts).
	DataDir string
	// SynapseInChroot keeps Synapse's data in a temporary directory
	// inside the chroot instead of DataDir/synapse (tests: no bind
	// mount, removed afterwards).
	SynapseInChroot bool
	// ServerName is the Matrix domain (default "imbridge.test").
	ServerName string
	// SynapsePort and BridgePort fix the ports (default: free ports).
	SynapsePort, BridgePort int
	// BridgeBinary is the imbridge executable (default: bridgeproc.Binary).
	BridgeBinary string
	// BridgeEdit changes the bridge config before the registration is
	// generated, and again on every later Start with the same DataDir
	// (e.g. to point network.* at protocol emulators on new ports).
	BridgeEdit func(*bridgeproc.Config) error
	// BridgeArgs are extra bridge command-line arguments.
	BridgeArgs []string
	// ExtraAppserviceFiles are further registration files Synapse loads
	// besides the bridge's, e.g. an observing appservice
	// (testenv/asobserver) that the benchmarks use as a baseline.
	ExtraAppserviceFiles []string
}

// Stack is a running Synapse plus bridge.
type Stack struct {
	Synapse *synapse.Server
	Bridge  *bridgeproc.Bridge
	// BotMXID is the bridge bot's Matrix ID.
	BotMXID id.UserID
}

// ErrSynapseMissing is returned (wrapped) when the Synapse chroot is not
// installed, so callers can tell a missing dependency from a failure.
var ErrSynapseMissing = errors.New("synapse chroot not installed (run scripts/synapse.sh install)")

// Start starts Synapse and the bridge and waits until both are ready.
// On error everything started so far is stopped again.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	if _, ok := synapse.Installed(synapse.Root()); !ok {
		return nil, fmt.Errorf("%w at %s", ErrSynapseMissing, synapse.Root())
	}
	bridgeDir := filepath.Join(opts.DataDir, "bridge")
	if err := os.MkdirAll(bridgeDir, 0o700); err != nil {
		return nil, fmt.Errorf("create bridge dir: %w", err)
	}
	hsOpts := synapse.Options{ServerName: opts.ServerName, Port: opts.SynapsePort}
	if !opts.SynapseInChroot {
		hsOpts.DataDir = filepath.Join(opts.DataDir, "synapse")
	}
	hs, err := synapse.New(hsOpts)
	if err != nil {
		return nil, err
	}
	st = &Stack{Synapse: hs}
	defer func() {
		if err != nil {
			st.Close(true)
		}
	}()
	st.Bridge, err = bridgeproc.New(ctx, bridgeproc.Options{
		Binary:           opts.BridgeBinary,
		Dir:              bridgeDir,
		HomeserverURL:    hs.URL,
		HomeserverDomain: hs.ServerName,
		Port:             opts.BridgePort,
		Edit: func(cfg *bridgeproc.Config) error {
			// Keeps a reused bridge dir pointing at this run's Synapse.
			if err := cfg.Set("homeserver.address", hs.URL); err != nil {
				return err
			}
			if opts.BridgeEdit != nil {
				return opts.BridgeEdit(cfg)
			}
			return nil
		},
		Args: opts.BridgeArgs,
	})
	if err != nil {
		return st, fmt.Errorf("prepare bridge: %w", err)
	}
	cfg, err := st.Bridge.Config()
	if err != nil {
		return st, err
	}
	bot := cfg.GetString("appservice.bot.username")
	if bot == "" {
		return st, errors.New("bridge config has no appservice.bot.username")
	}
	st.BotMXID = id.NewUserID(bot, hs.ServerName)
	// Synapse loads the registration exactly as the binary generated it.
	hs.SetAppserviceFiles(append([]string{st.Bridge.RegistrationPath}, opts.ExtraAppserviceFiles...)...)
	if err := hs.Start(ctx); err != nil {
		return st, err
	}
	if err := st.Bridge.Start(ctx); err != nil {
		return st, fmt.Errorf("start bridge: %w", err)
	}
	return st, nil
}

// Close stops the bridge and Synapse. keepData keeps a temporary Synapse
// data dir for post-mortems.
func (st *Stack) Close(keepData bool) {
	if st.Bridge != nil {
		_ = st.Bridge.Stop()
	}
	if st.Synapse != nil {
		st.Synapse.Close(keepData)
	}
}
