// Package bridge is imbridge's one bridgev2 NetworkConnector. It multiplexes the
// protocol connectors (Lync, Skype, Teams): it merges their login flows and
// config sections, hands each stored login to its protocol, stores every row's
// metadata as a per-protocol union, and labels each portal with its network.
package bridge

import (
	"context"
	_ "embed"
	"fmt"
	"sync"

	up "go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/database"
	"github.com/imbridge/imbridge/metrics"
)

// Connector is the multiplexing bridgev2.NetworkConnector.
type Connector struct {
	Bridge  *bridgev2.Bridge
	Config  Config
	DB      *database.Database
	Metrics *metrics.Prometheus

	protocols map[ids.Protocol]protocol.Protocol
	// directMedia is set when bridgev2 turned direct media on.
	directMedia bool
	// provisioningOnce guards the provisioning routes (see provisioning.go).
	provisioningOnce sync.Once
	stopCtx          context.Context
	stop             context.CancelFunc
}

var (
	_ bridgev2.NetworkConnector               = (*Connector)(nil)
	_ bridgev2.StoppableNetwork               = (*Connector)(nil)
	_ bridgev2.ConfigValidatingNetwork        = (*Connector)(nil)
	_ bridgev2.PortalBridgeInfoFillingNetwork = (*Connector)(nil)
	_ bridgev2.IdentifierValidatingNetwork    = (*Connector)(nil)
)

// New creates the connector with the protocols built into this binary.
func New(protocols ...protocol.Protocol) *Connector {
	c := &Connector{protocols: map[ids.Protocol]protocol.Protocol{}}
	for _, p := range protocols {
		if !ids.IsKnown(p.ID()) {
			panic(fmt.Sprintf("bridge.New: protocol %q is not in ids.Known", p.ID()))
		}
		if c.protocols[p.ID()] != nil {
			panic(fmt.Sprintf("bridge.New: protocol %q registered twice", p.ID()))
		}
		c.protocols[p.ID()] = p
	}
	c.Config.protocols = c.protocols
	return c
}

// Protocol returns the registered protocol p, or nil.
func (c *Connector) Protocol(p ids.Protocol) protocol.Protocol { return c.protocols[p] }

// enabled returns the registered and enabled protocols in display order.
func (c *Connector) enabled() []protocol.Protocol {
	var out []protocol.Protocol
	for _, p := range ids.Known {
		if proto := c.protocols[p]; proto != nil && c.Config.Enabled(p) {
			out = append(out, proto)
		}
	}
	return out
}

func (c *Connector) GetName() bridgev2.BridgeName {
	return bridgev2.BridgeName{
		DisplayName:          "Microsoft messengers",
		NetworkURL:           "https://github.com/imbridge/imbridge",
		NetworkID:            "imbridge",
		BeeperBridgeType:     "imbridge",
		DefaultPort:          29330,
		DefaultCommandPrefix: "!im",
	}
}

func (c *Connector) GetConfig() (string, any, up.Upgrader) {
	return c.Config.exampleConfig(), &c.Config, &configUpgrader{c: &c.Config}
}

// ValidateConfig is also called by main before bridgev2 starts, so that a bad
// section ends the process with one clear line.
func (c *Connector) ValidateConfig() error { return c.Config.validate() }

func (c *Connector) GetDBMetaTypes() bridgedb.MetaTypes {
	tables := map[string]map[ids.Protocol]func() any{}
	add := func(table string, p ids.Protocol, f bridgedb.MetaTypeCreator) {
		if tables[table] == nil {
			tables[table] = map[ids.Protocol]func() any{}
		}
		if f != nil {
			tables[table][p] = f
		}
	}
	for id, p := range c.protocols {
		mt := p.MetaTypes()
		add("portal", id, mt.Portal)
		add("ghost", id, mt.Ghost)
		add("message", id, mt.Message)
		add("reaction", id, mt.Reaction)
		add("login", id, mt.UserLogin)
	}
	return bridgedb.MetaTypes{
		Portal:    protocol.MetadataCreator(tables["portal"]),
		Ghost:     protocol.MetadataCreator(tables["ghost"]),
		Message:   protocol.MetadataCreator(tables["message"]),
		Reaction:  protocol.MetadataCreator(tables["reaction"]),
		UserLogin: protocol.MetadataCreator(tables["login"]),
	}
}

func (c *Connector) Init(br *bridgev2.Bridge) {
	c.Bridge = br
	c.DB = database.New(br.ID, br.DB.Database, br.Log.With().Str("db_section", "imbridge").Logger())
	// Series for every protocol imbridge knows, running or not: a protocol that
	// is off has bridged zero messages, and dashboards need not change when one
	// is switched on.
	var known []string
	for _, p := range ids.Known {
		known = append(known, string(p))
	}
	c.Metrics = metrics.New(known, c.loginStates)
	c.registerCommands()
	for _, p := range ids.Known {
		if proto := c.protocols[p]; proto != nil {
			proto.Init(&protocol.Env{
				Bridge:  br,
				DB:      c.DB,
				Metrics: c.Metrics,
				Log:     br.Log.With().Str("protocol", string(p)).Logger(),
			})
		}
	}
}

func (c *Connector) Start(ctx context.Context) error {
	if err := c.checkDirectMedia(); err != nil {
		return err
	}
	if err := c.DB.Upgrade(ctx); err != nil {
		return bridgev2.DBUpgradeError{Err: err, Section: "imbridge"}
	}
	c.stopCtx, c.stop = context.WithCancel(context.Background())
	if c.Config.Metrics.Enabled {
		if err := c.Metrics.Serve(c.stopCtx, c.Config.Metrics.Listen, c.Bridge.Log); err != nil {
			return err
		}
	}
	for _, p := range c.enabled() {
		if err := p.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", p.ID(), err)
		}
	}
	// bridgev2's Matrix connector has set up the provisioning API by now.
	c.registerProvisioning()
	return nil
}

func (c *Connector) Stop() {
	for _, p := range c.enabled() {
		p.Stop()
	}
	if c.stop != nil {
		c.stop()
	}
}

// Bump these to make bridgev2 resend m.bridge / room features to every portal.
const (
	bridgeInfoVersion   = 1
	capabilitiesVersion = 1
)

func (c *Connector) GetBridgeInfoVersion() (info, capabilities int) {
	return bridgeInfoVersion, capabilitiesVersion
}

// FillPortalBridgeInfo labels each portal with its own network, since the
// bridge-wide name ("Microsoft messengers") says nothing about the room.
func (c *Connector) FillPortalBridgeInfo(portal *bridgev2.Portal, content *event.BridgeEventContent) {
	p, err := ids.ProtocolOf(string(portal.ID))
	if err != nil {
		return
	}
	if proto := c.protocols[p]; proto != nil {
		content.Protocol = proto.Info()
	} else {
		content.Protocol = event.BridgeInfoSection{ID: string(p), DisplayName: string(p)}
	}
	// NetworkIsImmediateParent is bridge-wide in bridgev2 (merged as "any
	// protocol wants it"); a protocol that did not ask for it gets the
	// top-level space as its network, as bridgev2 would give it alone.
	if content.Network != nil && portal.Parent != nil && !c.protocolWantsImmediateParent(p) {
		if top := portal.GetTopLevelParent(); top != nil && top != portal.Parent {
			content.Network = &event.BridgeInfoSection{ID: string(top.ID), DisplayName: top.Name, AvatarURL: top.AvatarMXC}
		}
	}
}

// ValidateUserID accepts only ghost IDs of protocols built into this binary, so
// bridgev2 never creates ghosts for MXIDs that merely fit the namespace.
// A protocol with a protocol.UserIDValidatingProtocol hook also checks the
// native part.
func (c *Connector) ValidateUserID(id networkid.UserID) bool {
	p, native, err := ids.Split(string(id))
	if err != nil || c.protocols[p] == nil {
		return false
	}
	if v, ok := c.protocols[p].(protocol.UserIDValidatingProtocol); ok {
		return v.ValidateUserID(native)
	}
	return true
}

func (c *Connector) loginStates() []metrics.LoginState {
	if c.Bridge == nil {
		return nil
	}
	var out []metrics.LoginState
	for _, login := range c.Bridge.GetAllCachedUserLogins() {
		p, err := ids.ProtocolOf(string(login.ID))
		if err != nil {
			p = "unknown"
		}
		state := "UNKNOWN"
		if r, ok := login.Client.(protocol.StateReporter); ok && r.LastState() != "" {
			state = string(r.LastState())
		}
		out = append(out, metrics.LoginState{Protocol: string(p), State: state})
	}
	return out
}

// CheckStoredMetadata is bridgetest's per-row check: the row's ID carries a
// protocol prefix (bridge/ids), its metadata is the union type and, once that
// names a protocol, it is the protocol of the row's ID.
func (c *Connector) CheckStoredMetadata(table, rowID string, metadata any) error {
	p, err := ids.ProtocolOf(rowID)
	if err != nil {
		return fmt.Errorf("%s row ID: %w", table, err)
	}
	md, ok := metadata.(*protocol.Metadata)
	if !ok {
		return fmt.Errorf("metadata is %T, not *protocol.Metadata", metadata)
	}
	if md.Protocol == "" {
		return nil
	}
	if p != md.Protocol {
		return fmt.Errorf("%w: a %s row holds %s metadata", ids.ErrForeignID, p, md.Protocol)
	}
	return nil
}
