package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// TestSkypeEmulatorSignInAndColleagueAnswers configures a bridge config,
// signs the demo account in as the instructions say with the hosts the
// config names, checks the seeded history is there, and that a colleague
// types and answers a message, in the 1:1 and in the group.
func TestSkypeEmulatorSignInAndColleagueAnswers(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	se, err := startSkypeEmulator(dataDir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Stop()
	if _, err := startSkypeEmulator(dataDir, port); err == nil || !strings.Contains(err.Error(), "Skype emulator") {
		t.Errorf("a second emulator on the same port started (%v), want an error naming it", err)
	}

	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("network:\n    skype:\n        enabled: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := bridgeproc.OpenConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := se.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	var enabled bool
	if _, err := cfg.Get("network.skype.enabled", &enabled); err != nil || !enabled {
		t.Fatalf("network.skype.enabled = %t (%v)", enabled, err)
	}
	api := skypeapi.Config{LoginLiveURL: cfg.GetString("network.skype.login_live_url"), EdgeURL: cfg.GetString("network.skype.edge_url"),
		LoginSkypeURL: cfg.GetString("network.skype.login_skype_url"), APIURL: cfg.GetString("network.skype.api_url"),
		ContactsURL: cfg.GetString("network.skype.contacts_url"), ProfileURL: cfg.GetString("network.skype.profile_url"),
		MsgsHost: cfg.GetString("network.skype.msgs_host"), ASMURL: cfg.GetString("network.skype.asm_url"), AllowInsecureHTTP: true}
	want := "http://127.0.0.1:" + strconv.Itoa(port)
	if api.MsgsHost != want || api.LoginLiveURL != want {
		t.Fatalf("msgs_host %q / login_live_url %q are not the emulator at %s", api.MsgsHost, api.LoginLiveURL, want)
	}
	instr := se.Instructions()
	if !strings.Contains(instr, "login skype live:demo demo") {
		t.Errorf("the instructions do not say how to log in: %s", instr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	auth, err := skypeapi.NewAuth(api)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := auth.Login(ctx, se.demo.Account.Name, se.demo.Password)
	if err != nil {
		t.Fatalf("sign the demo account in: %v", err)
	}
	c, err := skypeapi.NewClient(api, *sess, skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bob, alice := se.demo.Bob.MRI(), se.demo.Alice.MRI()
	if n := len(se.emu.Messages(se.demo.Account.Name, se.demo.Bob.Name)); n != 3 {
		t.Errorf("the DM with Bob has %d history messages, want 3", n)
	}
	for _, tc := range []struct{ conv, from, viewerConv string }{
		{bob, bob, se.demo.Bob.Name},
		{se.demo.Group, "", se.demo.Group},
	} {
		before := len(se.emu.Messages(se.demo.Account.Name, tc.viewerConv))
		if _, err := c.Send(ctx, tc.conv, skypeapi.Outgoing{Content: "Lunch at noon?", ClientMessageID: chatsvc.NewClientMessageID()}); err != nil {
			t.Fatalf("send into %s: %v", tc.conv, err)
		}
		deadline := time.Now().Add(15 * time.Second)
		var answer string
		for answer == "" && time.Now().Before(deadline) {
			msgs := se.emu.Messages(se.demo.Account.Name, tc.viewerConv)
			for _, m := range msgs[before:] {
				if m.From != se.demo.Account.MRI() && (tc.from == "" || m.From == tc.from) && (m.From == bob || m.From == alice) {
					answer = m.Content
				}
			}
			time.Sleep(50 * time.Millisecond) // polling the emulator's state
		}
		if !strings.Contains(answer, "Lunch at noon?") {
			t.Errorf("no colleague answered in %s (got %q)", tc.conv, answer)
		}
	}
}

// A restart in the same data directory seeds the accounts (the stored login
// signs in again with the same password) but no history, which the bridge
// would bridge a second time.
func TestSkypeEmulatorRestartSeedsNoHistory(t *testing.T) {
	dataDir := t.TempDir()
	for run := 1; run <= 2; run++ {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		se, err := startSkypeEmulator(dataDir, port)
		if err != nil {
			t.Fatal(err)
		}
		n := len(se.emu.Messages(se.demo.Account.Name, se.demo.Bob.Name))
		instr := se.Instructions()
		se.Stop()
		if want := map[int]int{1: 3, 2: 0}[run]; n != want {
			t.Errorf("run %d: the DM with Bob has %d history messages, want %d", run, n, want)
		}
		if run == 2 && !strings.Contains(instr, "restart") {
			t.Errorf("the instructions after a restart do not say so: %s", instr)
		}
	}
}
