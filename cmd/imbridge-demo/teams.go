package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// teamsEmulator runs the Teams emulator (connectors/teams/teamsemu) in the
// demo process, seeded with its demo organisation: a work account with two
// colleagues who answer, react and type, a group chat, a team with channels,
// and a Teams free account with a friend.
type teamsEmulator struct {
	emu  *teamsemu.Emulator
	srv  *http.Server
	base string
	demo *teamsemu.Demo
	stop context.CancelFunc
}

var _ emulator = (*teamsEmulator)(nil)

// startTeamsEmulator serves the emulator on 127.0.0.1:port.
func startTeamsEmulator(port int) (*teamsEmulator, error) {
	ctx, cancel := context.WithCancel(context.Background())
	// live stays nil while seeding, so the colleagues do not answer history.
	var live atomic.Pointer[teamsemu.Emulator]
	emu := teamsemu.New(teamsemu.Options{OnMessage: teamsemu.Colleagues(ctx, live.Load, "demo@contoso.com", "demo@outlook.com")})
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
	if err != nil {
		cancel()
		emu.Close()
		return nil, fmt.Errorf("start the Teams emulator: %w", err)
	}
	te := &teamsEmulator{emu: emu, base: "http://" + ln.Addr().String(), stop: cancel}
	emu.SetBaseURL(te.base)
	te.demo = emu.SeedDemo()
	live.Store(emu)
	te.srv = &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = te.srv.Serve(ln) }()
	return te, nil
}

func (te *teamsEmulator) Name() string {
	return fmt.Sprintf("Microsoft Teams (Teams emulator at %s)", te.base)
}

// Configure points every Teams endpoint, work and free, at the emulator.
func (te *teamsEmulator) Configure(cfg *bridgeproc.Config) error {
	type setting struct {
		key   string
		value any
	}
	settings := []setting{
		{"network.teams.enabled", true},
		{"network.teams.allow_insecure_http", true},
	}
	for _, d := range []struct{ name, authz string }{
		{"work", "/api/authsvc/v1.0/authz"}, {"consumer", "/api/auth/v1.0/authz/consumer"},
	} {
		p := "network.teams." + d.name + "."
		settings = append(settings,
			setting{p + "login_url", te.base},
			setting{p + "authz_url", te.base + d.authz},
			setting{p + "trouter_url", te.base},
			setting{p + "registrar_url", te.base + "/registrar/prod/V2/registrations"})
		if d.name == "consumer" {
			// The consumer sign-in answer may name no service hosts.
			settings = append(settings, setting{p + "chat_service_url", te.base},
				setting{p + "ams_url", te.base + "/ams"}, setting{p + "middle_tier_url", te.base + "/mt"})
		}
	}
	for _, s := range settings {
		if err := cfg.Set(s.key, s.value); err != nil {
			return err
		}
	}
	return nil
}

func (te *teamsEmulator) Instructions() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("In the chat with the bot type `login teams`, answer `work`, then open the URL the")
	line("bot shows (%s/devicelogin) and enter the code it shows with the account", te.base)
	line("  %s (work)   or, after answering `free`,   %s (Teams free)", te.demo.Work.Email, te.demo.Consumer.Email)
	line("Your chats appear with their history: a DM with %s, the group \"Project Phoenix\"", te.demo.Bob.Name)
	line("and the team's channels in a space. Write in any chat: a colleague types,")
	line("reacts with a like and answers.")
	line("The emulator keeps everything in memory: after a restart of the demo, log in again.")
	return b.String()
}

func (te *teamsEmulator) Stop() {
	te.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := te.srv.Shutdown(ctx); err != nil {
		_ = te.srv.Close()
	}
	te.emu.Close()
}
