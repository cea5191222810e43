// Package lync is imbridge's Lync / Skype for Business connector. It speaks
// UCWA through package ucwa; this package turns UCWA events into bridgev2
// remote events (events.go, convert.go) and Matrix events into UCWA calls
// (handlematrix.go).
package lync

import (
	"net/http"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// FlowID is the bot's login flow: `login lync`.
const FlowID = "lync"

// Connector is the Lync protocol of the multiplexing bridge.
type Connector struct {
	Config         Config
	bridgekit.Base // Env, Box, Spec: the protocol.Protocol methods that only repeat the Spec

	// HTTPClient, when set, carries every UCWA request (tests point it at the
	// emulator). Nil means a default client.
	HTTPClient *http.Client
	// Timing knobs that tests shorten; zero values mean the defaults below.
	AcceptTimeout   time.Duration
	DeliveryTimeout time.Duration
	RetryBackoffMin time.Duration
}

var _ protocol.Protocol = (*Connector)(nil)

// New creates the Lync protocol with the example config's defaults.
func New() *Connector {
	c := &Connector{Config: Config{
		CredentialKey: "generate", UserAgent: "imbridge", Culture: "en-US",
		ActivityInterval: 3 * time.Minute, EventTimeout: 180,
	}}
	c.Spec = bridgekit.Spec{
		Proto: ids.Lync, Name: "Skype for Business",
		ExampleConfig: exampleConfig, Config: &c.Config, Upgrade: upgradeConfig,
		Validate:      func() error { return c.Config.validate() },
		CredentialKey: func() string { return c.Config.CredentialKey },
		MetaTypes:     bridgedb.MetaTypes{UserLogin: loginMeta.Creator(), Ghost: ghostMeta.Creator()},
		Flows: []bridgekit.Flow{{
			LoginFlow: bridgev2.LoginFlow{ID: FlowID, Name: "Skype for Business (Lync)",
				Description: "Sign in to your organisation's Skype for Business Server with your SIP address or e-mail and password."},
			Start: func(user *bridgev2.User) bridgev2.LoginProcess { return &loginProcess{conn: c, user: user} },
		}},
		NewClient: bridgekit.Loader(c.newClient),
	}
	return c
}

func (c *Connector) GeneralCapabilities() *bridgev2.NetworkGeneralCapabilities {
	return &bridgev2.NetworkGeneralCapabilities{
		Provisioning: bridgev2.ProvisioningCapabilities{ResolveIdentifier: bridgev2.ResolveIdentifierCapabilities{
			CreateDM: true, LookupEmail: true, LookupUsername: true, ContactList: true, Search: true,
		}},
		// A backstop for the bridge's own delivery timeout (outbound.go),
		// which fires first and says why.
		OutgoingMessageTimeouts: &bridgev2.OutgoingTimeoutConfig{
			CheckInterval: 10 * time.Second,
			NoEchoTimeout: c.deliveryTimeout() + 30*time.Second,
			NoEchoMessage: "Skype for Business did not confirm delivery",
		},
	}
}

func (c *Connector) acceptTimeout() time.Duration { return orDefault(c.AcceptTimeout, 20*time.Second) }
func (c *Connector) deliveryTimeout() time.Duration {
	return orDefault(c.DeliveryTimeout, 60*time.Second)
}

// orDefault: see bridgekit.OrDefault.
var orDefault = bridgekit.OrDefault
