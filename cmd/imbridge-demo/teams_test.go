package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// TestTeamsEmulatorSignInThroughPageAndColleagueAnswers configures a bridge
// config, signs the demo work account in the way a demo user does (the
// device code entered on the emulator's sign-in page) with the endpoints the
// config names, and checks that a colleague answers a message.
func TestTeamsEmulatorSignInThroughPageAndColleagueAnswers(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	te, err := startTeamsEmulator(port)
	if err != nil {
		t.Fatal(err)
	}
	defer te.Stop()

	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("network:\n    teams:\n        enabled: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := bridgeproc.OpenConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	var enabled bool
	if _, err := cfg.Get("network.teams.enabled", &enabled); err != nil || !enabled {
		t.Fatalf("network.teams.enabled = %t (%v)", enabled, err)
	}
	api := teamsapi.Config{Deployment: teamsapi.Work, AllowInsecureHTTP: true,
		LoginURL: cfg.GetString("network.teams.work.login_url"), AuthzURL: cfg.GetString("network.teams.work.authz_url"),
		TrouterURL: cfg.GetString("network.teams.work.trouter_url"), RegistrarURL: cfg.GetString("network.teams.work.registrar_url")}
	if !strings.HasPrefix(api.LoginURL, "http://127.0.0.1:") {
		t.Fatalf("login_url %q is not the emulator", api.LoginURL)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := teamsapi.StartDeviceLogin(ctx, api)
	if err != nil {
		t.Fatal(err)
	}
	page, err := http.Get(dl.VerificationURI)
	if err != nil || page.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page %s: %v %v", dl.VerificationURI, page, err)
	}
	_ = page.Body.Close()
	resp, err := http.PostForm(te.base+"/_emu/devicelogin", url.Values{"user_code": {dl.UserCode}, "email": {te.demo.Work.Email}, "page": {"1"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("approving through the page: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	creds, err := dl.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := teamsapi.NewAuth(api, *creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Send(ctx, te.demo.DM, chatsvc.Outgoing{Content: "<p>hello Bob</p>"}); err != nil {
		t.Fatal(err)
	}
	if !te.emu.WaitFor(20*time.Second, func() bool {
		msgs := te.emu.Messages(te.demo.DM)
		return len(msgs) > 0 && msgs[len(msgs)-1].From == te.demo.Bob.MRI && strings.Contains(te.Instructions(), te.demo.Work.Email)
	}) {
		t.Fatal("no colleague answered in the demo DM")
	}
}
