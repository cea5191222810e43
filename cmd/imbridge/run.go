package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2/matrix/mxmain"

	"github.com/imbridge/imbridge/bridge"
)

// Exit codes of our own start-up checks; the rest are mxmain's (bridgev2 notes §2).
const (
	exitConfig      = 11
	exitDatabase    = 14
	exitHomeserver  = 16
	dbCheckTimeout  = 15 * time.Second
	hsRetryInterval = 2 * time.Second
)

// run is mxmain's Run with start-up checks between its steps, so that a bad
// config section, an unusable database or an unreachable homeserver ends the
// process with one clear line instead of a retry loop or a later stack trace.
func run(m *mxmain.BridgeMain, conn *bridge.Connector) {
	m.PreInit()
	if err := conn.ValidateConfig(); err != nil {
		fail(exitConfig, "configuration error in %s: %v", m.ConfigPath, err)
	}
	m.Init()
	ctx := context.Background()
	if err := checkDatabase(ctx, m); err != nil {
		fail(exitDatabase, "database error: %v", err)
	}
	if err := waitForHomeserver(ctx, m, conn.Config.HomeserverWait); err != nil {
		fail(exitHomeserver, "cannot reach the homeserver at %s: %v", m.Config.Homeserver.Address, err)
	}
	m.Start()
	code := m.WaitForInterrupt()
	m.Stop()
	os.Exit(code)
}

func fail(code int, format string, args ...any) {
	_, _ = fmt.Fprintf(os.Stderr, "imbridge: "+format+"\n", args...)
	os.Exit(code)
}

func checkDatabase(ctx context.Context, m *mxmain.BridgeMain) error {
	ctx, cancel := context.WithTimeout(ctx, dbCheckTimeout)
	defer cancel()
	if err := m.DB.RawDB.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s database: %w", m.Config.Database.Type, err)
	}
	return nil
}

// waitForHomeserver polls /versions until it answers or wait runs out. bridgev2
// would retry forever; a wait of 0 keeps that behaviour.
func waitForHomeserver(ctx context.Context, m *mxmain.BridgeMain, wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	url := strings.TrimRight(m.Config.Homeserver.Address, "/") + "/_matrix/client/versions"
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: 10 * time.Second}
	logged := false
	for {
		err := getOK(ctx, client, url)
		if err == nil {
			return nil
		}
		if time.Now().Add(hsRetryInterval).After(deadline) {
			return fmt.Errorf("%w (gave up after network.homeserver_wait=%s)", err, wait)
		}
		if !logged {
			m.Log.Warn().Err(err).Str("homeserver", m.Config.Homeserver.Address).Dur("wait", wait).
				Msg("Homeserver not reachable yet, waiting")
			logged = true
		}
		time.Sleep(hsRetryInterval)
	}
}

func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}
