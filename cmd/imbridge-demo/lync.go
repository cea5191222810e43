package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// The demo's Skype for Business directory: the demo user's account, a
// colleague who answers everything, and two who only listen.
const (
	lyncDemoAccount = "demo@lync.demo"
	lyncDemoName    = "Demo User"
	lyncEchoAccount = "echo@lync.demo"
	lyncEchoName    = "Echo Colleague"
	// lyncGreetDelay is how long after the bridge connects the demo
	// account the echo colleague says hello, so the user sees an incoming
	// chat without doing anything.
	lyncGreetDelay = 3 * time.Second
	lyncGreeting   = "Hi, I'm the Echo Colleague on the demo Skype for Business server. Write me anything and I'll answer."
)

var lyncListeners = []struct{ addr, name, title string }{
	{"carol@lync.demo", "Carol Example", "Product Manager"},
	{"dave@lync.demo", "Dave Example", "Support Engineer"},
}

// lyncState is kept in the data dir so that a restarted demo serves the
// same address and password: the bridge stored both with the login.
type lyncState struct {
	Port     int    `json:"port"`
	Password string `json:"password"`
}

// lyncEmulator runs the UCWA emulator of connectors/lync/ucwaemu in the
// demo process. Its directory lives in memory: after a demo restart the
// bridge finds its old session gone and signs in again with the stored
// password.
type lyncEmulator struct {
	emu        *ucwaemu.Emulator
	srv        *http.Server
	root       string
	state      lyncState
	greetDelay time.Duration

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ emulator = (*lyncEmulator)(nil)

// startLyncEmulator serves the emulator on 127.0.0.1:port (the port saved
// in dataDir wins over port, so the bridge's stored server address stays
// valid across restarts). The echo colleague greets greetDelay after the
// bridge connects the demo account.
func startLyncEmulator(dataDir string, port int, greetDelay time.Duration) (*lyncEmulator, error) {
	state, err := loadLyncState(dataDir, port)
	if err != nil {
		return nil, err
	}
	emu := ucwaemu.New(ucwaemu.Options{})
	if err := populateLyncDirectory(emu, state.Password); err != nil {
		emu.Close()
		return nil, err
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", state.Port))
	if err != nil {
		emu.Close()
		return nil, fmt.Errorf("lync emulator: %w (the port is kept in %s; free it or use a new -data dir)", err, lyncStatePath(dataDir))
	}
	ctx, cancel := context.WithCancel(context.Background())
	le := &lyncEmulator{
		emu:        emu,
		srv:        &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second},
		root:       "http://" + l.Addr().String() + "/",
		state:      state,
		greetDelay: greetDelay,
		cancel:     cancel,
	}
	le.wg.Add(2)
	go func() {
		defer le.wg.Done()
		if err := le.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			step("lync emulator stopped serving: %v", err)
		}
	}()
	go func() {
		defer le.wg.Done()
		le.greetLoop(ctx)
	}()
	return le, nil
}

func populateLyncDirectory(emu *ucwaemu.Emulator, password string) error {
	if err := emu.AddUser(lyncDemoAccount, lyncDemoName, password); err != nil {
		return err
	}
	if err := emu.AddUser(lyncEchoAccount, lyncEchoName, ""); err != nil {
		return err
	}
	if err := emu.SetUserDetails(lyncEchoAccount, "Always answers", "Demo"); err != nil {
		return err
	}
	if err := emu.Peer(lyncEchoAccount).SetAutoReply(func(text string) string { return "You said: " + text }); err != nil {
		return err
	}
	colleagues := []string{lyncEchoAccount}
	for _, c := range lyncListeners {
		if err := emu.AddUser(c.addr, c.name, ""); err != nil {
			return err
		}
		if err := emu.SetUserDetails(c.addr, c.title, "Demo"); err != nil {
			return err
		}
		colleagues = append(colleagues, c.addr)
	}
	for _, c := range colleagues {
		if err := emu.AddContact(lyncDemoAccount, c); err != nil {
			return err
		}
		if err := emu.AddContact(c, lyncDemoAccount); err != nil {
			return err
		}
	}
	return nil
}

func lyncStatePath(dataDir string) string { return filepath.Join(dataDir, "lync-emulator.json") }

// loadLyncState reads the saved port and password, or makes and saves
// new ones.
func loadLyncState(dataDir string, port int) (lyncState, error) {
	path := lyncStatePath(dataDir)
	var st lyncState
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &st); err != nil {
			return st, fmt.Errorf("parse %s: %w", path, err)
		}
		if st.Port > 0 && st.Password != "" {
			return st, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	password, err := testenv.RandomString(6)
	if err != nil {
		return st, err
	}
	st = lyncState{Port: port, Password: password}
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return st, fmt.Errorf("save lync emulator state: %w", err)
	}
	return st, nil
}

// greetLoop has the echo colleague greet the demo account a few seconds
// after each new bridge session of it is up (available and polling for
// events), so a fresh login is answered by an incoming chat.
func (le *lyncEmulator) greetLoop(ctx context.Context) {
	greeted := map[string]bool{}
	for {
		var app string
		err := le.emu.WaitFor(ctx, func() bool {
			for _, a := range le.emu.Applications(lyncDemoAccount) {
				if a.Available && a.Polling && !greeted[a.ID] {
					app = a.ID
					return true
				}
			}
			return false
		})
		if err != nil {
			return
		}
		greeted[app] = true
		select {
		case <-ctx.Done():
			return
		case <-time.After(le.greetDelay):
		}
		if _, err := le.emu.Peer(lyncEchoAccount).SendIM(lyncDemoAccount, lyncGreeting); err != nil {
			step("lync emulator: greeting from %s failed: %v", lyncEchoAccount, err)
		}
	}
}

func (le *lyncEmulator) Name() string {
	return fmt.Sprintf("Skype for Business / Lync (UCWA emulator at %s)", le.root)
}

func (le *lyncEmulator) Configure(cfg *bridgeproc.Config) error {
	for _, s := range []struct {
		key   string
		value any
	}{
		{"network.lync.enabled", true},
		{"network.lync.discovery_url", le.root},
		{"network.lync.allow_insecure_http", true},
		{"network.lync.allow_private_addresses", true},
	} {
		if err := cfg.Set(s.key, s.value); err != nil {
			return err
		}
	}
	return nil
}

func (le *lyncEmulator) Instructions() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("In the chat with the bot type `login lync` and answer its two questions:")
	line("  SIP address or e-mail:  %s", lyncDemoAccount)
	line("  Password:               %s", le.state.Password)
	line("A few seconds after the login, %s (%s) opens a chat with you;", lyncEchoName, lyncEchoAccount)
	line("accept the invitation: everything you write there is answered with \"You said: ...\".")
	line("You can also open that chat yourself; type to the bot:")
	line("  start-chat lync.%s %s", lyncDemoAccount, lyncEchoAccount)
	line("More colleagues, who read but never answer (`list-contacts` shows them all):")
	for _, c := range lyncListeners {
		line("  %s (%s)", c.name, c.addr)
	}
	line("The emulator keeps its chats in memory only: after a restart of the demo the")
	line("bridge signs in again by itself and says that messages may have been missed.")
	return b.String()
}

// Stop ends the greeting loop, answers held event requests and stops the
// HTTP server.
func (le *lyncEmulator) Stop() {
	le.cancel()
	le.emu.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := le.srv.Shutdown(ctx); err != nil {
		_ = le.srv.Close()
	}
	le.wg.Wait()
}
