package main

import (
	"context"

	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// emulator is a fake protocol server the demo runs next to the bridge, so
// `login` has something to log in to without a real Lync, Skype or Teams
// account. To add one, implement this and list it in startEmulators (see
// lync.go for the UCWA emulator of connectors/lync/ucwaemu).
type emulator interface {
	// Name is shown to the user, e.g. "Lync (UCWA emulator)".
	Name() string
	// Configure points the bridge's network.<protocol> section at the
	// emulator (called on every demo start, after Start).
	Configure(cfg *bridgeproc.Config) error
	// Instructions tell the user what to type to the bot, e.g. the login
	// flow and the emulator's test accounts.
	Instructions() string
	// Stop shuts the emulator down.
	Stop()
}

// startEmulators starts the protocol emulators, keeping their state under
// dataDir. On error the ones already started are returned so the caller
// can stop them.
func startEmulators(ctx context.Context, dataDir string, o options) ([]emulator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var emus []emulator
	lync, err := startLyncEmulator(dataDir, o.lyncPort, lyncGreetDelay)
	if err != nil {
		return emus, err
	}
	emus = append(emus, lync)
	teams, err := startTeamsEmulator(o.teamsPort)
	if err != nil {
		return emus, err
	}
	emus = append(emus, teams)
	skype, err := startSkypeEmulator(dataDir, o.skypePort)
	if err != nil {
		return emus, err
	}
	emus = append(emus, skype)
	return emus, nil
}

func configureEmulators(cfg *bridgeproc.Config, emus []emulator) error {
	for _, e := range emus {
		if err := e.Configure(cfg); err != nil {
			return err
		}
	}
	return nil
}

func stopEmulators(emus []emulator) {
	for _, e := range emus {
		e.Stop()
	}
}
