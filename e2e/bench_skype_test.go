//go:build e2e

package e2e

import (
	"context"
	"fmt"

	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// skypeBench drives the Skype web API emulator for the benchmarks; the
// accounts sign in with name and password (the `skype` flow), as in
// TestSkypeConversation. It runs its own emulator (not the suite's
// skypeEmu), with chatSends in front of both its listeners, which stamps
// what the bridge posts and sees the logins' held polls.
type skypeBench struct {
	emu    *skypeemu.Emulator
	sends  *chatSends
	suffix string
}

func newSkypeBench() benchProtocol { return &skypeBench{} }

func (s *skypeBench) Name() string { return "skype" }

func (s *skypeBench) Start(_ context.Context, suffix string) (func(*bridgeproc.Config) error, func(), error) {
	s.suffix = suffix
	// The service's own poll hold (30 s), as an idle login sees it.
	s.emu = skypeemu.New(skypeemu.Options{})
	s.sends = newChatSends(s.emu.RequestUser)
	s.emu.StartWrapped(s.sends.Wrap)
	settings := map[string]any{
		"network.skype.enabled":                 true,
		"network.skype.allow_insecure_http":     true,
		"network.skype.allow_private_addresses": true,
	}
	for _, key := range []string{"login_live_url", "edge_url", "login_skype_url", "api_url", "contacts_url", "profile_url", "msgs_host", "asm_url"} {
		settings["network.skype."+key] = s.emu.URL()
	}
	return configSettings(settings), s.emu.Close, nil
}

func (s *skypeBench) NewAccount(n int) (*benchAccount, error) {
	password, err := testenv.RandomString(8)
	if err != nil {
		return nil, err
	}
	acc := &benchAccount{
		Remote:    fmt.Sprintf("live:bench%d.%s", n, s.suffix),
		Colleague: fmt.Sprintf("live:colleague%d.%s", n, s.suffix),
		Password:  password,
	}
	s.emu.AddUser(acc.Remote, fmt.Sprintf("Bench User %d", n), password)
	s.addColleague(acc, fmt.Sprintf("Bench Colleague %d", n))
	return acc, nil
}

// addColleague adds acc's colleague to the emulator as a contact of the
// account; the account's chat with them is named by their MRI.
func (s *skypeBench) addColleague(acc *benchAccount, name string) {
	s.emu.AddUser(acc.Colleague, name, "")
	s.emu.AddContact(acc.Remote, acc.Colleague)
	acc.Chat = "8:" + acc.Colleague
}

func (s *skypeBench) AddColleague(acc *benchAccount, k int) (*benchAccount, error) {
	c := *acc
	c.Colleague = fmt.Sprintf("%s.k%d", acc.Colleague, k)
	s.addColleague(&c, fmt.Sprintf("Bench Colleague %d", k))
	return &c, nil
}

func (s *skypeBench) LoginFlow() string { return "skype" }

func (s *skypeBench) LoginValues(acc *benchAccount) map[string]string {
	return map[string]string{"username": acc.Remote, "password": acc.Password}
}

func (s *skypeBench) Inject(acc *benchAccount, text string) error {
	s.emu.Send(acc.Colleague, acc.Remote, text)
	return nil
}

func (s *skypeBench) Delivered(acc *benchAccount) []benchDelivery {
	return s.sends.Sent(acc.Remote, acc.Chat)
}

func (s *skypeBench) WaitChange(ctx context.Context, cond func() bool) error {
	return s.sends.WaitChange(ctx, cond)
}

// Connected: the login holds a long poll on its endpoint.
func (s *skypeBench) Connected(acc *benchAccount) bool { return s.sends.Polling(acc.Remote) }
