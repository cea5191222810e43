// Package lync is imbridge's Lync / Skype for Business connector. It speaks
// UCWA through package ucwa; this package turns UCWA events into bridgev2
// remote events (events.go, convert.go) and Matrix events into UCWA calls
// (handlematrix.go).
package lync

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

// FlowID is the bot's login flow: `login lync`.
const FlowID = "lync"

// Connector is the Lync protocol of the multiplexing bridge.
type Connector struct {
	Config         Config
	bridgekit.Base // Env, Box; Init, Stop

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
	return &Connector{Config: Config{
		CredentialKey: "generate", UserAgent: "imbridge", Culture: "en-US",
		ActivityInterval: 3 * time.Minute, EventTimeout: 180,
	}}
}

func (c *Connector) ID() ids.Protocol { return ids.Lync }

func (c *Connector) Info() event.BridgeInfoSection {
	return event.BridgeInfoSection{ID: string(ids.Lync), DisplayName: "Skype for Business"}
}

func (c *Connector) ExampleConfig() string          { return exampleConfig }
func (c *Connector) ConfigData() any                { return &c.Config }
func (c *Connector) UpgradeConfig(helper up.Helper) { upgradeConfig(helper) }
func (c *Connector) ValidateConfig() error          { return c.Config.validate() }

func (c *Connector) MetaTypes() bridgedb.MetaTypes {
	return bridgedb.MetaTypes{
		UserLogin: loginMeta.Creator(),
		Ghost:     ghostMeta.Creator(),
	}
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

func (c *Connector) Start(ctx context.Context) error { return c.OpenBox(c.Config.CredentialKey) }

func (c *Connector) LoginFlows() []bridgev2.LoginFlow {
	return []bridgev2.LoginFlow{{
		ID:          FlowID,
		Name:        "Skype for Business (Lync)",
		Description: "Sign in to your organisation's Skype for Business Server with your SIP address or e-mail and password.",
	}}
}

func (c *Connector) CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error) {
	if flowID != FlowID {
		return nil, bridgev2.ErrInvalidLoginFlowID
	}
	return &loginProcess{conn: c, user: user}, nil
}

func (c *Connector) LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error {
	return bridgekit.LoadClient(login, c.newClient)
}

func (c *Connector) acceptTimeout() time.Duration { return orDefault(c.AcceptTimeout, 20*time.Second) }
func (c *Connector) deliveryTimeout() time.Duration {
	return orDefault(c.DeliveryTimeout, 60*time.Second)
}

// orDefault: see bridgekit.OrDefault.
var orDefault = bridgekit.OrDefault
