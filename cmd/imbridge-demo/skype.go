package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// skypeEmulator runs the Skype web API emulator (connectors/skype/skypeemu)
// in the demo process, seeded with a demo account, a contact with a chat
// history, a group, and colleagues who type and answer.
type skypeEmulator struct {
	emu  *skypeemu.Emulator
	demo *skypeemu.Demo
	stop context.CancelFunc
	// restarted: an earlier run in this data directory saw the history.
	restarted bool
}

var _ emulator = (*skypeEmulator)(nil)

// skypeSeededPath marks a data directory whose bridge has seen the demo's
// Skype history: later runs seed the accounts only.
func skypeSeededPath(dataDir string) string { return filepath.Join(dataDir, "skype-emulator.seeded") }

// startSkypeEmulator serves the emulator on 127.0.0.1:port. The emulator
// keeps its chats in memory; on the first run in dataDir it is seeded with
// a history, on later runs with the accounts only.
func startSkypeEmulator(dataDir string, port int) (*skypeEmulator, error) {
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	// Fail with an error, not the emulator's panic, on a busy port.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start the Skype emulator: %w", err)
	}
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	// live stays nil while seeding, so the colleagues do not answer history.
	var live atomic.Pointer[skypeemu.Emulator]
	emu := skypeemu.New(skypeemu.Options{Addr: addr, OnMessage: skypeemu.Colleagues(ctx, live.Load, "live:demo")})
	emu.Start()
	_, err = os.Stat(skypeSeededPath(dataDir))
	firstRun := errors.Is(err, os.ErrNotExist)
	se := &skypeEmulator{emu: emu, demo: emu.SeedDemo(firstRun), stop: cancel, restarted: !firstRun}
	live.Store(emu)
	if firstRun {
		if err := os.WriteFile(skypeSeededPath(dataDir), []byte("the Skype emulator's demo history was seeded in this data directory\n"), 0o600); err != nil {
			se.Stop()
			return nil, fmt.Errorf("start the Skype emulator: %w", err)
		}
	}
	return se, nil
}

func (se *skypeEmulator) Name() string {
	return fmt.Sprintf("Skype (Skype web API emulator at %s)", se.emu.URL())
}

// Configure points every Skype host at the emulator. The emulator's
// regional messaging host (a second loopback port) is where it may
// redirect a registration; allow_private_addresses lets the bridge reach
// both.
func (se *skypeEmulator) Configure(cfg *bridgeproc.Config) error {
	settings := map[string]any{
		"network.skype.enabled":                 true,
		"network.skype.allow_insecure_http":     true,
		"network.skype.allow_private_addresses": true,
	}
	for _, k := range []string{"login_live_url", "edge_url", "login_skype_url", "api_url", "contacts_url", "profile_url", "msgs_host", "asm_url"} {
		settings["network.skype."+k] = se.emu.URL()
	}
	for k, v := range settings {
		if err := cfg.Set(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (se *skypeEmulator) Instructions() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("In the chat with the bot type `login skype`, then the Skype name %s and the", se.demo.Account.Name)
	line("password %s (or in one line: `login skype %s %s`).", se.demo.Password, se.demo.Account.Name, se.demo.Password)
	if se.restarted {
		line("The emulator keeps chats in memory and this is a restart: the bridge signs in again")
		line("by itself (the stored password); the DM with %s goes on (write in it), the", se.demo.Bob.DisplayName)
		line("group \"Weekend trip\" of the first run is gone on the Skype side.")
	} else {
		line("Your chats appear with their history: a DM with %s and the group \"Weekend trip\"", se.demo.Bob.DisplayName)
		line("with %s. Write in either: a colleague types and answers.", se.demo.Alice.DisplayName)
		line("The emulator keeps chats in memory: after a restart of the demo the bridge signs in")
		line("again by itself (the stored password), but only the DM goes on.")
	}
	return b.String()
}

func (se *skypeEmulator) Stop() {
	se.stop()
	se.emu.Close()
}
