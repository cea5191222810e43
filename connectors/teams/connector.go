// Package teams is imbridge's Microsoft Teams connector (work and school
// accounts and Teams free). It speaks the web client's chat service and
// Trouter push channel through package teamsapi; this package turns pushes
// and REST catch-up into bridgev2 remote events (events.go, convert.go) and
// Matrix events into chat-service calls (handlematrix.go).
package teams

import (
	"net/http"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// Login flow IDs: `login teams` (device code) and `login teams-token`.
const (
	FlowDeviceCode   = "teams"
	FlowRefreshToken = "teams-token"
)

// Connector is the Teams protocol of the multiplexing bridge.
type Connector struct {
	Config         Config
	bridgekit.Base // Env, Box, Spec: the protocol.Protocol methods that only repeat the Spec
	// directMedia: AMS files become direct media URIs (directmedia.go).
	directMedia bool

	// HTTPClient, when set, carries every request (tests); nil means default.
	HTTPClient *http.Client
	// Timing knobs tests shorten; zero means the defaults.
	RetryBackoffMin time.Duration
	TrouterBackoff  time.Duration
	HorizonPoll     time.Duration
	// SendDeadline bounds a Matrix send (outbox.go); 0 is 90 s.
	SendDeadline time.Duration
}

var (
	_ protocol.Protocol                   = (*Connector)(nil)
	_ protocol.IdentifierClaimingProtocol = (*Connector)(nil)
)

// New creates the Teams protocol with the example config's defaults.
func New() *Connector {
	c := &Connector{Config: Config{Tenant: "organizations", CredentialKey: "generate", InitialChats: 20, InitialMessages: 50, ReadReceiptPoll: defaultHorizonPoll}}
	c.Spec = bridgekit.Spec{
		Proto: ids.Teams, Name: "Microsoft Teams",
		ExampleConfig: exampleConfig, Config: &c.Config, Upgrade: upgradeConfig,
		Validate:      func() error { return c.Config.validate() },
		CredentialKey: func() string { return c.Config.CredentialKey },
		MetaTypes:     bridgedb.MetaTypes{UserLogin: loginMeta.Creator(), Ghost: ghostMeta.Creator(), Message: messageMeta.Creator()},
		Flows: []bridgekit.Flow{{
			LoginFlow: bridgev2.LoginFlow{ID: FlowDeviceCode, Name: "Microsoft Teams",
				Description: "Sign in to Teams (work, school or Teams free) with a code you enter on Microsoft's sign-in page."},
			Start: func(user *bridgev2.User) bridgev2.LoginProcess { return &deviceLogin{conn: c, user: user} },
		}, {
			LoginFlow: bridgev2.LoginFlow{ID: FlowRefreshToken, Name: "Microsoft Teams (refresh token)",
				Description: "Sign in to Teams by pasting a refresh token of the Teams client."},
			Start: func(user *bridgev2.User) bridgev2.LoginProcess { return &tokenLogin{conn: c, user: user} },
		}},
		NewClient: bridgekit.Loader(c.newClient),
	}
	return c
}

func (c *Connector) GeneralCapabilities() *bridgev2.NetworkGeneralCapabilities {
	return &bridgev2.NetworkGeneralCapabilities{
		Provisioning: bridgev2.ProvisioningCapabilities{ResolveIdentifier: bridgev2.ResolveIdentifierCapabilities{
			CreateDM: true, LookupEmail: true, Search: true,
		}, GroupCreation: map[string]bridgev2.GroupTypeCapabilities{groupType: {
			TypeDescription: "a Microsoft Teams group chat",
			Name:            bridgev2.GroupFieldCapability{Allowed: true, MaxLength: 256},
			Participants:    bridgev2.GroupFieldCapability{Allowed: true, Required: true, MinLength: 1, MaxLength: 249},
		}}},
		// Sends are pending (outbox.go) and settled by the bridge itself
		// within its send deadline; this only catches one that was not.
		OutgoingMessageTimeouts: &bridgev2.OutgoingTimeoutConfig{
			CheckInterval: 10 * time.Second,
			NoEchoTimeout: 2 * time.Minute,
			NoEchoMessage: "Teams never confirmed the message",
		},
	}
}

// ClaimsIdentifier claims what only Teams has: work MRIs ("8:orgid:…") and
// Teams chat ids. Consumer MRIs ("8:live:…") are Skype's as well (Teams free
// is the same identity), so they are left unclaimed and tried on each login.
func (c *Connector) ClaimsIdentifier(identifier string) bool {
	s := strings.ToLower(strings.TrimSpace(identifier))
	if strings.HasPrefix(s, "8:orgid:") {
		return true
	}
	return strings.HasPrefix(s, "19:") && (strings.HasSuffix(s, "@thread.v2") || strings.HasSuffix(s, "@thread.tacv2") || strings.HasSuffix(s, "@unq.gbl.spaces"))
}

// orDefault: see bridgekit.OrDefault.
var orDefault = bridgekit.OrDefault
