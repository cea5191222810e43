//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// The colleague every Lync test talks to. Test users (the Matrix user's
// own Lync accounts) are added per test, with unique addresses, so that
// -count=N runs do not collide on the bridge's login IDs.
const (
	lyncBobSIP  = "bob@corp.example"
	lyncBobName = "Bob Colleague"
)

// lyncEmu is the UCWA emulator the bridge's network.lync points at; it runs
// in the test process for the whole package run.
var lyncEmu *ucwaemu.Emulator

func init() { setupHooks = append(setupHooks, startLyncEmulator) }

// startLyncEmulator serves the UCWA emulator on a loopback port and points
// the bridge's network.lync section at it.
func startLyncEmulator(context.Context) (func(*bridgeproc.Config) error, func(), error) {
	// The user's own participant is listed as the real server of seed 002
	// lists it, with only a me link (the group tests depend on it).
	emu := ucwaemu.New(ucwaemu.Options{LocalParticipant: "me"})
	if err := emu.AddUser(lyncBobSIP, lyncBobName, ""); err != nil {
		emu.Close()
		return nil, nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		emu.Close()
		return nil, nil, fmt.Errorf("listen for the UCWA emulator: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	cleanup := func() {
		emu.Close() // answers held event requests, so Shutdown need not wait for them
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("e2e: UCWA emulator server:", err)
		}
	}
	lyncEmu = emu
	root := "http://" + l.Addr().String() + "/"
	edit := func(cfg *bridgeproc.Config) error {
		for _, s := range []struct {
			key   string
			value any
		}{
			{"network.lync.enabled", true},
			{"network.lync.discovery_url", root},
			{"network.lync.allow_insecure_http", true},
			{"network.lync.allow_private_addresses", true},
		} {
			if err := cfg.Set(s.key, s.value); err != nil {
				return err
			}
		}
		return nil
	}
	return edit, cleanup, nil
}
