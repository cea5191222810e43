//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// teamsBench drives the Teams emulator for the benchmarks with work
// accounts, which sign in through the device-code flow as in
// TestTeamsConversation: the benchmark approves the code the login shows
// through the emulator's test API. It runs its own emulator (not the
// suite's teamsEmu), served behind chatSends, which stamps what the bridge
// posts.
type teamsBench struct {
	emu    *teamsemu.Emulator
	sends  *chatSends
	suffix string

	mu   sync.Mutex
	mris map[string]string // e-mail → MRI
}

// chat is the account's 1:1 chat with the colleague, created on first use:
// a Teams login makes a portal of every chat it finds, and the idle
// logins of the scale figure must have none (as Lync's have none).
func (t *teamsBench) chat(acc *benchAccount) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if acc.Chat == "" {
		acc.Chat = t.emu.OneToOne(acc.Colleague, acc.Remote)
	}
	return acc.Chat
}

func newTeamsBench() benchProtocol { return &teamsBench{mris: map[string]string{}} }

func (t *teamsBench) Name() string { return "teams" }

func (t *teamsBench) Start(_ context.Context, suffix string) (func(*bridgeproc.Config) error, func(), error) {
	t.suffix = suffix
	t.emu = teamsemu.New(teamsemu.Options{})
	t.sends = newChatSends(t.emu.RequestUser)
	root, stop, err := serveBench("Teams", t.sends.Wrap(t.emu.Handler()))
	if err != nil {
		t.emu.Close()
		return nil, nil, err
	}
	// The work authz answer's regionGtms sends the client to this one
	// base URL for the chat service, AMS and the rest.
	t.emu.SetBaseURL(root)
	cleanup := func() {
		t.emu.Close()
		stop()
	}
	settings := map[string]any{"network.teams.enabled": true, "network.teams.allow_insecure_http": true}
	for key, path := range map[string]string{
		"login_url":     "",
		"authz_url":     "/api/authsvc/v1.0/authz",
		"trouter_url":   "",
		"registrar_url": "/registrar/prod/V2/registrations",
	} {
		settings["network.teams.work."+key] = root + path
	}
	return configSettings(settings), cleanup, nil
}

// addUser adds a work account named after local and returns its e-mail.
func (t *teamsBench) addUser(local, name string) string {
	u := t.emu.AddUser(fmt.Sprintf("%s.%s@bench.example", local, t.suffix), name)
	t.mu.Lock()
	t.mris[u.Email] = u.MRI
	t.mu.Unlock()
	return u.Email
}

func (t *teamsBench) mri(email string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mris[email]
}

func (t *teamsBench) NewAccount(n int) (*benchAccount, error) {
	acc := &benchAccount{
		Remote:    t.addUser(fmt.Sprintf("user%d", n), fmt.Sprintf("Bench User %d", n)),
		Colleague: t.addUser(fmt.Sprintf("colleague%d", n), fmt.Sprintf("Bench Colleague %d", n)),
	}
	return acc, nil
}

func (t *teamsBench) AddColleague(acc *benchAccount, k int) (*benchAccount, error) {
	c := *acc
	local, _, _ := strings.Cut(acc.Colleague, ".")
	c.Colleague = t.addUser(fmt.Sprintf("%s.k%d", local, k), fmt.Sprintf("Bench Colleague %d", k))
	c.Chat = ""
	return &c, nil
}

func (t *teamsBench) LoginFlow() string { return "teams" }

func (t *teamsBench) LoginValues(*benchAccount) map[string]string {
	return map[string]string{"account": "work"}
}

// LoginDisplayed approves the device code the login shows, as the person
// does at Microsoft's sign-in page.
func (t *teamsBench) LoginDisplayed(acc *benchAccount, code string) error {
	if !t.emu.ApproveDeviceCode(code, acc.Remote) {
		return fmt.Errorf("the Teams emulator has no pending device code %q to approve for %s", code, acc.Remote)
	}
	return nil
}

func (t *teamsBench) Inject(acc *benchAccount, text string) error {
	if id := t.emu.SendText(acc.Colleague, t.chat(acc), text); id == "" {
		return errors.New("the Teams emulator stored no message")
	}
	return nil
}

func (t *teamsBench) Delivered(acc *benchAccount) []benchDelivery {
	return t.sends.Sent(t.mri(acc.Remote), t.chat(acc))
}

func (t *teamsBench) WaitChange(ctx context.Context, cond func() bool) error {
	return t.sends.WaitChange(ctx, cond)
}

// Connected: the login's Trouter socket is up and its endpoint registered
// for messages.
func (t *teamsBench) Connected(acc *benchAccount) bool {
	st := t.emu.Trouter(acc.Remote)
	return st.Connected > 0 && st.Registered > 0
}
