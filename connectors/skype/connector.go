// Package skype is imbridge's connector for the consumer Skype web API of
// skpy's era. It speaks that API through package skypeapi (on the shared
// chat-service client) and converts message bodies with connectors/msgfmt;
// this package maps Skype events to bridgev2 remote events (events.go) and
// Matrix events to Skype calls (handlematrix.go).
package skype

import (
	"net/http"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"

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
	bridgekit.Base // Env, Box, Spec: the protocol.Protocol methods that only repeat the Spec

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
	c := &Connector{Config: Config{CredentialKey: "generate", ReadReceiptPoll: defaultReadReceiptPoll}}
	c.Spec = bridgekit.Spec{
		Proto: ids.Skype, Name: "Skype",
		ExampleConfig: exampleConfig, Config: &c.Config, Upgrade: upgradeConfig,
		Validate:      func() error { return c.Config.validate() },
		CredentialKey: func() string { return c.Config.CredentialKey },
		MetaTypes:     bridgedb.MetaTypes{UserLogin: loginMeta.Creator(), Message: messageMeta.Creator()},
		Flows: []bridgekit.Flow{{
			LoginFlow: bridgev2.LoginFlow{ID: FlowPassword, Name: "Skype (password)",
				Description: "Sign in with your Microsoft-account e-mail or Skype name and password (or an app password)."},
			Start: func(user *bridgev2.User) bridgev2.LoginProcess { return &passwordLogin{conn: c, user: user} },
		}, {
			LoginFlow: bridgev2.LoginFlow{ID: FlowToken, Name: "Skype (skypetoken)",
				Description: "Paste a skypetoken from a signed-in Skype web session. It lasts about 24 hours and cannot be renewed without a password."},
			Start: func(user *bridgev2.User) bridgev2.LoginProcess { return &tokenLogin{conn: c, user: user} },
		}},
		NewClient: bridgekit.Loader(c.newClient),
	}
	return c
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

// orDefault: see bridgekit.OrDefault.
var orDefault = bridgekit.OrDefault
