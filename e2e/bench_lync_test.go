//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// lyncBench drives the UCWA emulator for the benchmarks. It runs its own
// emulator (not the suite's lyncEmu) so that benchmark traffic and test
// traffic never share one emulator lock.
type lyncBench struct {
	emu    *ucwaemu.Emulator
	suffix string
}

func newLyncBench() benchProtocol { return &lyncBench{} }

func (l *lyncBench) Name() string { return "lync" }

func (l *lyncBench) Start(_ context.Context, suffix string) (func(*bridgeproc.Config) error, func(), error) {
	l.suffix = suffix
	l.emu = ucwaemu.New(ucwaemu.Options{})
	root, stop, err := serveBench("UCWA", l.emu)
	if err != nil {
		l.emu.Close()
		return nil, nil, err
	}
	cleanup := func() {
		l.emu.Close()
		stop()
	}
	edit := configSettings(map[string]any{
		"network.lync.enabled":                 true,
		"network.lync.discovery_url":           root + "/",
		"network.lync.allow_insecure_http":     true,
		"network.lync.allow_private_addresses": true,
	})
	return edit, cleanup, nil
}

func (l *lyncBench) NewAccount(n int) (*benchAccount, error) {
	password, err := testenv.RandomString(8)
	if err != nil {
		return nil, err
	}
	acc := &benchAccount{
		Remote:    fmt.Sprintf("user%d.%s@bench.example", n, l.suffix),
		Colleague: fmt.Sprintf("colleague%d.%s@bench.example", n, l.suffix),
		Password:  password,
	}
	if err := l.emu.AddUser(acc.Remote, fmt.Sprintf("Bench User %d", n), password); err != nil {
		return nil, err
	}
	if err := l.emu.AddUser(acc.Colleague, fmt.Sprintf("Bench Colleague %d", n), ""); err != nil {
		return nil, err
	}
	for _, pair := range [][2]string{{acc.Remote, acc.Colleague}, {acc.Colleague, acc.Remote}} {
		if err := l.emu.AddContact(pair[0], pair[1]); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func (l *lyncBench) AddColleague(acc *benchAccount, k int) (*benchAccount, error) {
	c := *acc
	c.Colleague = strings.Replace(acc.Colleague, "@", fmt.Sprintf(".k%d@", k), 1)
	if err := l.emu.AddUser(c.Colleague, fmt.Sprintf("Bench Colleague %d", k), ""); err != nil {
		return nil, err
	}
	for _, pair := range [][2]string{{c.Remote, c.Colleague}, {c.Colleague, c.Remote}} {
		if err := l.emu.AddContact(pair[0], pair[1]); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func (l *lyncBench) LoginFlow() string { return "lync" }

func (l *lyncBench) LoginValues(acc *benchAccount) map[string]string {
	return map[string]string{"username": acc.Remote, "password": acc.Password}
}

func (l *lyncBench) Inject(acc *benchAccount, text string) error {
	if _, err := l.emu.Peer(acc.Colleague).SendIM(acc.Remote, text); err != nil {
		return fmt.Errorf("%s sends an IM to %s: %w", acc.Colleague, acc.Remote, err)
	}
	return nil
}

func (l *lyncBench) Delivered(acc *benchAccount) []benchDelivery {
	var out []benchDelivery
	for _, m := range l.emu.Received(acc.Colleague) {
		if m.From == "sip:"+acc.Remote && !m.Failed {
			out = append(out, benchDelivery{Text: m.Text, Time: m.Time})
		}
	}
	return out
}

func (l *lyncBench) WaitChange(ctx context.Context, cond func() bool) error {
	return l.emu.WaitFor(ctx, cond)
}

func (l *lyncBench) Connected(acc *benchAccount) bool {
	for _, a := range l.emu.Applications(acc.Remote) {
		if a.Polling {
			return true
		}
	}
	return false
}
