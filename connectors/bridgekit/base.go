package bridgekit

import (
	"context"
	"fmt"
	"sync"
	"time"

	up "go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/secretbox"
)

// Spec declares the parts of a protocol connector that the protocol.Protocol
// methods only hand out: its name, config section, metadata types, login
// flows and how a stored login becomes a client. A connector fills it in once
// (in its New) and Base answers those methods from it, so the connectors do
// not each repeat the same dozen one-line methods.
type Spec struct {
	Proto ids.Protocol
	// Name is the network's display name (m.bridge events, the personal
	// space, notices).
	Name string

	// ExampleConfig is the YAML of the config section; Config the pointer it
	// is decoded into; Upgrade copies its keys; Validate checks the decoded
	// section (called only when the protocol is enabled).
	ExampleConfig string
	Config        any
	Upgrade       func(up.Helper)
	Validate      func() error
	// CredentialKey reads the config's credential key when the connector
	// starts (after the config was decoded), to open the credential box.
	CredentialKey func() string

	MetaTypes bridgedb.MetaTypes
	Flows     []Flow
	// NewClient makes a stored login's client without network I/O
	// (LoadUserLogin runs under bridgev2's cache lock). Make it with Loader.
	NewClient func(*bridgev2.UserLogin) (bridgev2.NetworkAPI, error)
}

// Flow is one login flow and how a login through it starts.
type Flow struct {
	bridgev2.LoginFlow
	Start func(user *bridgev2.User) bridgev2.LoginProcess
}

// Loader turns a connector's typed client constructor into Spec.NewClient.
// A failed constructor yields no client at all (not a typed nil in an
// interface, which bridgev2 would take for a client).
func Loader[C bridgev2.NetworkAPI](newClient func(*bridgev2.UserLogin) (C, error)) func(*bridgev2.UserLogin) (bridgev2.NetworkAPI, error) {
	return func(login *bridgev2.UserLogin) (bridgev2.NetworkAPI, error) {
		client, err := newClient(login)
		if err != nil {
			return nil, err
		}
		return client, nil
	}
}

// Base is what every protocol connector keeps alike: the environment the
// multiplexer hands it (Init), the box its stored credentials are sealed
// with and the answers Spec gives. Embed it in the protocol's Connector.
//
// The box opens at Start, or earlier on the first login load or login
// process: bridgev2 starts its Matrix connector before the network one, so
// a transaction Synapse held while the bridge was down can load a login
// before Start has run (a nil box there was a recovered panic and a lost
// message). Waiting for Start instead would deadlock: the Matrix connector
// does not finish starting while its event channel is full.
type Base struct {
	Env  *protocol.Env
	Box  *secretbox.Box
	Spec Spec

	boxMu sync.Mutex
}

// Init keeps the multiplexer's environment.
func (b *Base) Init(env *protocol.Env) { b.Env = env }

// ensureBox opens the box from the config once, if it is not open yet.
func (b *Base) ensureBox() error {
	b.boxMu.Lock()
	defer b.boxMu.Unlock()
	if b.Box != nil {
		return nil
	}
	if b.Spec.CredentialKey == nil {
		return fmt.Errorf("the %s connector has no credential key", b.Spec.Proto)
	}
	box, err := secretbox.New(b.Spec.CredentialKey())
	if err != nil {
		return fmt.Errorf("open the %s credential box: %w", b.Spec.Proto, err)
	}
	b.Box = box
	return nil
}

// Start opens the credential box (unless a login load already did):
// nothing else is needed before the logins load, and each login's client
// connects by itself.
func (b *Base) Start(ctx context.Context) error {
	return b.ensureBox()
}

// Stop has nothing to do: each login's client stops on Disconnect.
func (b *Base) Stop() {}

func (b *Base) ID() ids.Protocol { return b.Spec.Proto }

func (b *Base) Info() event.BridgeInfoSection {
	return event.BridgeInfoSection{ID: string(b.Spec.Proto), DisplayName: b.Spec.Name}
}

func (b *Base) ExampleConfig() string          { return b.Spec.ExampleConfig }
func (b *Base) ConfigData() any                { return b.Spec.Config }
func (b *Base) UpgradeConfig(helper up.Helper) { b.Spec.Upgrade(helper) }
func (b *Base) ValidateConfig() error          { return b.Spec.Validate() }
func (b *Base) MetaTypes() bridgedb.MetaTypes  { return b.Spec.MetaTypes }

func (b *Base) LoginFlows() []bridgev2.LoginFlow {
	flows := make([]bridgev2.LoginFlow, len(b.Spec.Flows))
	for i, f := range b.Spec.Flows {
		flows[i] = f.LoginFlow
	}
	return flows
}

func (b *Base) CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error) {
	if err := b.ensureBox(); err != nil {
		return nil, err
	}
	for _, f := range b.Spec.Flows {
		if f.ID == flowID {
			return f.Start(user), nil
		}
	}
	return nil, bridgev2.ErrInvalidLoginFlowID
}

// LoadUserLogin makes a stored login's client and attaches it to the login.
func (b *Base) LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error {
	if err := b.ensureBox(); err != nil {
		return err
	}
	client, err := b.Spec.NewClient(login)
	if err != nil {
		return err
	}
	login.Client = client
	return nil
}

// OrDefault is d, or def when d is not set (tests shorten timings; zero keeps
// the defaults).
func OrDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// PortalKey is the key of conversation conv's portal of protocol p for a
// login: every login has portals of its own (the same chat seen by two
// logins is two rooms, each with that login's view).
func PortalKey(p ids.Protocol, conv string, login networkid.UserLoginID) networkid.PortalKey {
	return networkid.PortalKey{ID: ids.PortalID(p, conv), Receiver: login}
}

// Conversation is the native conversation ID of a portal of protocol p, or
// "" for a portal that is not p's (ClientBase.CheckPortal refuses those
// before any handler gets here).
func Conversation(p ids.Protocol, portal *bridgev2.Portal) string {
	conv, _ := ids.Parse(p, string(portal.ID))
	return conv
}
