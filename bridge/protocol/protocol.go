// Package protocol is the contract between imbridge's multiplexing connector
// (package bridge) and each protocol connector (connectors/lync, …).
//
// A protocol connector implements Protocol; for each of its logins it sets
// login.Client to its own NetworkAPI type, so bridgev2's optional-interface
// checks (edits, reactions, typing, …) see exactly what that protocol supports.
// The optional interfaces bridgev2 looks for on the NetworkConnector itself
// (direct media, transaction IDs, push, …) have per-protocol counterparts in
// hooks.go, which the multiplexer dispatches to by ID prefix.
//
// What every protocol client must do besides:
//   - refuse another protocol's portal (ClientBase.CheckPortal);
//   - answer bridgev2.ErrResolveIdentifierTryNext from ResolveIdentifier and
//     CreateChatWithGhost for identifiers and ghosts that are not its own
//     (ids.OwnIdentifier) and while disconnected, so the next login is asked;
//   - do nothing in Connect once retired (ClientBase.Retired);
//   - store metadata only through a Kind (Wrap), never its own struct directly.
package protocol

import (
	"context"

	"github.com/rs/zerolog"
	up "go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/database"
	"github.com/imbridge/imbridge/metrics"
)

// Env is what the multiplexer hands a protocol at Init.
type Env struct {
	Bridge  *bridgev2.Bridge
	DB      *database.Database
	Metrics metrics.Recorder
	Log     zerolog.Logger
}

// Protocol is one bridged network.
type Protocol interface {
	// ID is the protocol's prefix and config section name.
	ID() ids.Protocol
	// Info describes the network for m.bridge events and the personal space.
	Info() event.BridgeInfoSection

	// ExampleConfig is the YAML of the protocol's config section, without the
	// "enabled" key, which the multiplexer owns.
	ExampleConfig() string
	// ConfigData returns a pointer the section is decoded into.
	ConfigData() any
	// UpgradeConfig copies the section's keys; paths are relative to the section.
	UpgradeConfig(helper up.Helper)
	// ValidateConfig checks the decoded section of an enabled protocol.
	ValidateConfig() error
	// MetaTypes returns creators for the protocol's own metadata types; nil
	// creators mean the protocol keeps no metadata in that table.
	MetaTypes() bridgedb.MetaTypes
	// GeneralCapabilities are merged with the other enabled protocols' (see
	// bridge/capabilities.go): booleans are or-ed, so a client may receive
	// read receipts marked Implicit that it did not ask for and must ignore
	// them; group creation types are listed under GroupTypeKey; outgoing
	// timeouts become the longest of all protocols'.
	GeneralCapabilities() *bridgev2.NetworkGeneralCapabilities

	Init(env *Env)
	Start(ctx context.Context) error
	Stop()

	// LoginFlows lists the protocol's login flows; their IDs must be unique
	// across protocols (by convention they start with the protocol ID).
	LoginFlows() []bridgev2.LoginFlow
	CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error)
	// LoadUserLogin must set login.Client; it runs under bridgev2's cache lock,
	// so it must not do slow I/O.
	LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error
}
