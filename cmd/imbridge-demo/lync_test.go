package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

func startTestLyncEmulator(t *testing.T, dataDir string) *lyncEmulator {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	le, err := startLyncEmulator(dataDir, port, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return le
}

// TestLyncEmulatorConfiguresBridge checks the bridge config edit and that
// the printed account is the one the emulator accepts.
func TestLyncEmulatorConfiguresBridge(t *testing.T) {
	dir := t.TempDir()
	le := startTestLyncEmulator(t, dir)
	defer le.Stop()

	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("network:\n    lync:\n        enabled: false\n        discovery_url: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := bridgeproc.OpenConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := le.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	var enabled, insecure bool
	if _, err := cfg.Get("network.lync.enabled", &enabled); err != nil || !enabled {
		t.Errorf("network.lync.enabled = %t (%v), want true", enabled, err)
	}
	if _, err := cfg.Get("network.lync.allow_insecure_http", &insecure); err != nil || !insecure {
		t.Errorf("network.lync.allow_insecure_http = %t (%v), want true", insecure, err)
	}
	if got := cfg.GetString("network.lync.discovery_url"); got != le.root || !strings.HasPrefix(got, "http://127.0.0.1:") {
		t.Errorf("network.lync.discovery_url = %q, want the emulator's loopback root %q", got, le.root)
	}
	text := le.Instructions()
	for _, want := range []string{"login lync", lyncDemoAccount, le.state.Password, "start-chat lync." + lyncDemoAccount + " " + lyncEchoAccount} {
		if !strings.Contains(text, want) {
			t.Errorf("instructions do not mention %q:\n%s", want, text)
		}
	}
}

// TestLyncEmulatorKeepsAddressAndPassword restarts the emulator on the same
// data dir: the bridge stored the server address and the password with
// the login, so both must stay.
func TestLyncEmulatorKeepsAddressAndPassword(t *testing.T) {
	dir := t.TempDir()
	first := startTestLyncEmulator(t, dir)
	root, password := first.root, first.state.Password
	first.Stop()
	second := startTestLyncEmulator(t, dir)
	defer second.Stop()
	if second.root != root || second.state.Password != password {
		t.Errorf("after a restart the emulator serves %s with password %q, want %s with %q", second.root, second.state.Password, root, password)
	}
}

// TestLyncEmulatorGreetsAndEchoes signs in as the demo account with a UCWA
// client, as the bridge does, and expects the echo colleague's greeting,
// then an answer to a message.
func TestLyncEmulatorGreetsAndEchoes(t *testing.T) {
	le := startTestLyncEmulator(t, t.TempDir())
	defer le.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	api, err := ucwa.New(ucwa.Config{
		Username: lyncDemoAccount, Password: le.state.Password,
		DiscoveryURL: le.root, AllowInsecureHTTP: true, AllowPrivateAddresses: true, EndpointID: "demo-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.SignIn(ctx); err != nil {
		t.Fatalf("sign in with the printed account: %v", err)
	}
	if _, err := api.CreateApplication(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.MakeMeAvailable(ctx, ucwa.AvailabilityOptions{}); err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		greetings []string // first messages of invitations
		texts     []string // message events (the server repeats the first message there)
		messaging *ucwa.Messaging
		changed   = make(chan struct{}, 1)
	)
	handler := func(ctx context.Context, u ucwa.Update) error {
		if u.Batch == nil {
			return nil
		}
		for _, se := range u.Batch.All() {
			ev := se.Event
			switch {
			case ev.Link.Rel == "messagingInvitation" && ev.Type == ucwa.EventStarted:
				inv, err := ev.MessagingInvitation()
				if err != nil || inv.Direction != ucwa.DirectionIncoming {
					continue
				}
				if body, ok, err := inv.FirstMessage(); ok && err == nil {
					mu.Lock()
					greetings = append(greetings, body.Plain)
					mu.Unlock()
				}
				go func() { _ = api.Accept(ctx, inv) }()
			case ev.Link.Rel == "messaging":
				if m, err := ev.Messaging(); err == nil && m.State == "Connected" {
					mu.Lock()
					messaging = m
					mu.Unlock()
				}
			case ev.IsIncomingMessage():
				m, _ := ev.Message()
				if body, err := m.Body(); err == nil {
					mu.Lock()
					texts = append(texts, body.Plain)
					mu.Unlock()
				}
			}
		}
		select {
		case changed <- struct{}{}:
		default:
		}
		return nil
	}
	runCtx, stopEvents := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- api.RunEvents(runCtx, handler) }()
	defer func() {
		stopEvents()
		<-done
	}()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-changed:
			case err := <-done:
				t.Fatalf("event channel ended while waiting for %s: %v", what, err)
			case <-ctx.Done():
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %s; invitations: %q, messages: %q", what, greetings, texts)
			}
		}
	}
	waitFor("greeting from the echo colleague", func() bool { return len(greetings) > 0 })
	mu.Lock()
	if greetings[0] != lyncGreeting {
		t.Errorf("the first invitation says %q, want the greeting %q", greetings[0], lyncGreeting)
	}
	mu.Unlock()
	waitFor("connected conversation after accepting the greeting", func() bool { return messaging != nil })
	mu.Lock()
	m := messaging
	mu.Unlock()
	if _, err := api.SendMessage(ctx, m, "ping", false, "op-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(`answer "You said: ping"`, func() bool { return strings.Contains(fmt.Sprint(texts), "You said: ping") })
	mu.Lock()
	defer mu.Unlock()
	if len(greetings) != 1 {
		t.Errorf("the echo colleague opened %d chats for one session, want one greeting: %q", len(greetings), greetings)
	}
}
