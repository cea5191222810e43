//go:build e2e

package e2e

import (
	"context"
	"time"

	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// benchProtocol is what the end-to-end benchmarks need from one protocol:
// its emulator, accounts on it, a way to inject a colleague's message and
// a view of what the colleague received. Each protocol with an emulator
// adds a driver to benchProtocols.
type benchProtocol interface {
	// Name is the protocol's short name ("lync"), used in benchmark names.
	Name() string
	// Start starts the emulator and returns the bridge config edit that
	// points the bridge at it, and a cleanup. suffix (lower-case hex) is
	// this run's: accounts named with it are unique to the run.
	Start(ctx context.Context, suffix string) (edit func(*bridgeproc.Config) error, cleanup func(), err error)
	// NewAccount creates a remote account for the n-th bench user, with a
	// colleague of its own (so every account gets its own portal).
	NewAccount(n int) (*benchAccount, error)
	// AddColleague adds the k-th further colleague of acc's account and
	// returns the account as that colleague talks to it (same Remote, so
	// the same login; Inject and Delivered then use the new colleague).
	AddColleague(acc *benchAccount, k int) (*benchAccount, error)
	// LoginFlow is the bridgev2 login flow ID; LoginValues answers its
	// user-input (or cookie) steps by field ID. A flow with a
	// display-and-wait step needs the driver to be a benchLoginDisplayer.
	LoginFlow() string
	LoginValues(acc *benchAccount) map[string]string
	// Inject makes the colleague send text to the account, as the remote
	// network would; it returns once the emulator holds the message for
	// delivery.
	Inject(acc *benchAccount, text string) error
	// Delivered returns the messages the colleague received from the
	// account, oldest first, stamped with when the emulator got them.
	Delivered(acc *benchAccount) []benchDelivery
	// WaitChange blocks until cond holds, re-checking whenever the
	// emulator's state changes.
	WaitChange(ctx context.Context, cond func() bool) error
	// Connected reports whether the account's login holds its event
	// channel open on the emulator (an idle, connected login).
	Connected(acc *benchAccount) bool
}

// benchLoginDisplayer is a driver whose login flow shows something the
// person acts on outside the bridge (Teams' device code, entered at
// Microsoft's sign-in page): LoginDisplayed does what the person would, on
// the emulator, with the step's data.
type benchLoginDisplayer interface {
	LoginDisplayed(acc *benchAccount, data string) error
}

// benchAccount is one remote account and its colleague.
type benchAccount struct {
	Remote    string // the account's address on the remote network
	Colleague string // the colleague who talks to it
	Password  string
	// Chat is the remote network's id of the account's chat with the
	// colleague, for protocols whose chats have one of their own.
	Chat string
}

// benchDelivery is a message the emulator delivered to a colleague.
type benchDelivery struct {
	Text string
	Time time.Time
}

// benchProtocols are the protocols the benchmarks run for.
var benchProtocols = []func() benchProtocol{newLyncBench, newTeamsBench, newSkypeBench}
