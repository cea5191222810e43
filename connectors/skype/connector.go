// Package skype is imbridge's connector for the consumer Skype web API of
// skpy's era. It speaks that API through package skypeapi (on the shared
// chat-service client) and converts message bodies with connectors/msgfmt;
// this package maps Skype events to bridgev2 remote events (events.go) and
// Matrix events to Skype calls (handlematrix.go).
package skype

import (
	"context"
	"net/http"
	"time"

	up "go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// Login flow IDs: `login skype` and `login skype-token`.
const (
	FlowPassword = "skype"
	FlowToken    = "skype-token"
)

// Connector is the Skype protocol of the multiplexing bridge.
type Connector struct {
	Config         Config
	bridgekit.Base // Env, Box; Init, Stop

	// HTTPClient and PollHTTPClient, when set, carry every request (tests
	// point them at the emulator); nil means clients that honour
	// allow_private_addresses.
	HTTPClient     *http.Client
	PollHTTPClient *http.Client
	// RetryBackoffMin shortens retry waits in tests; zero keeps the defaults.
	RetryBackoffMin time.Duration
	// KeepAlive is the endpoint ping interval; zero means skypeapi's default.
	KeepAlive time.Duration
}

var (
	_ protocol.Protocol                   = (*Connector)(nil)
	_ protocol.IdentifierClaimingProtocol = (*Connector)(nil)
)

// New creates the Skype protocol with the example config's defaults.
func New() *Connector {
	return &Connector{Config: Config{CredentialKey: "generate"}}
}

func (c *Connector) ID() ids.Protocol { return ids.Skype }

func (c *Connector) Info() event.BridgeInfoSection {
	return event.BridgeInfoSection{ID: string(ids.Skype), DisplayName: "Skype"}
}

func (c *Connector) ExampleConfig() string          { return exampleConfig }
func (c *Connector) ConfigData() any                { return &c.Config }
func (c *Connector) UpgradeConfig(helper up.Helper) { upgradeConfig(helper) }
func (c *Connector) ValidateConfig() error          { return c.Config.validate() }

func (c *Connector) MetaTypes() bridgedb.MetaTypes {
	return bridgedb.MetaTypes{
		UserLogin: loginMeta.Creator(),
		Message:   messageMeta.Creator(),
	}
}

func (c *Connector) GeneralCapabilities() *bridgev2.NetworkGeneralCapabilities {
	return &bridgev2.NetworkGeneralCapabilities{
		Provisioning: bridgev2.ProvisioningCapabilities{ResolveIdentifier: bridgev2.ResolveIdentifierCapabilities{
			CreateDM: true, LookupUsername: true, ContactList: true, Search: true,
		}},
		OutgoingMessageTimeouts: &bridgev2.OutgoingTimeoutConfig{
			CheckInterval: 10 * time.Second,
			NoEchoTimeout: 2 * time.Minute,
			NoEchoMessage: "Skype accepted the message but never delivered it back",
		},
	}
}

// ClaimsIdentifier claims nothing: "live:" names and their 8:live: MRIs are
// also how Teams free addresses the same (former Skype) people, so such an
// identifier goes to each of the user's logins in turn, and "skype:" picks
// this network explicitly.
func (c *Connector) ClaimsIdentifier(string) bool { return false }

func (c *Connector) Start(ctx context.Context) error { return c.OpenBox(c.Config.CredentialKey) }

func (c *Connector) LoginFlows() []bridgev2.LoginFlow {
	return []bridgev2.LoginFlow{{
		ID:          FlowPassword,
		Name:        "Skype (password)",
		Description: "Sign in with your Microsoft-account e-mail or Skype name and password (or an app password).",
	}, {
		ID:          FlowToken,
		Name:        "Skype (skypetoken)",
		Description: "Paste a skypetoken from a signed-in Skype web session. It lasts about 24 hours and cannot be renewed without a password.",
	}}
}

func (c *Connector) CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error) {
	switch flowID {
	case FlowPassword:
		return &passwordLogin{conn: c, user: user}, nil
	case FlowToken:
		return &tokenLogin{conn: c, user: user}, nil
	}
	return nil, bridgev2.ErrInvalidLoginFlowID
}

func (c *Connector) LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error {
	return bridgekit.LoadClient(login, c.newClient)
}

// orDefault: see bridgekit.OrDefault.
var orDefault = bridgekit.OrDefault
