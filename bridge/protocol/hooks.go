package protocol

import (
	"context"
	"encoding/json"
	"errors"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/mediaproxy"

	"github.com/imbridge/imbridge/bridge/ids"
)

// bridgev2 looks for several optional interfaces on the one NetworkConnector,
// never on a login's client. The multiplexer (package bridge) implements all
// of them and hands each call to the protocol it concerns, found from the ID
// prefix of the media, user, room or login involved. A protocol offers a hook
// by implementing the matching interface below on its Protocol value; one that
// does not gets bridgev2's default behaviour for its own IDs.

// DirectMediaProtocol serves media through bridgev2's direct media (the media
// proxy), for networks whose files need an authenticated download.
type DirectMediaProtocol interface {
	// SetUseDirectMedia tells the protocol that direct media is on: from now
	// on it may turn remote files into mxc:// URIs with
	// bridgev2.Bridge.Matrix.GenerateContentURI(ctx, ids.MediaID(p, ref))
	// instead of uploading them. It is called before Start. Protocols without
	// this hook keep uploading their media, which is still correct: bridgev2
	// only serves URIs that were generated.
	SetUseDirectMedia()
	// Download serves a media ID made with ids.MediaID; native is the part
	// after the protocol prefix.
	Download(ctx context.Context, native []byte, params map[string]string) (mediaproxy.GetMediaResponse, error)
}

// MaxFileSizeProtocol learns the homeserver's upload limit (bridgev2 assumes
// 50 MiB until told).
type MaxFileSizeProtocol interface {
	SetMaxFileSize(maxSize int64)
}

// TransactionIDProtocol makes the network-side transaction ID of an outgoing
// Matrix event (Teams/Skype clientmessageid). The multiplexer finds the portal
// of the room and asks the portal's protocol; portal is never nil.
type TransactionIDProtocol interface {
	GenerateTransactionID(userID id.UserID, portal *bridgev2.Portal, eventType event.Type) networkid.RawTransactionID
}

// NetworkResettingProtocol resets its HTTP transport and persistent
// connections itself. Without it, the multiplexer resets the protocol's logins
// the way bridgev2 does: disconnect, load the login again, connect.
type NetworkResettingProtocol interface {
	ResetHTTPTransport()
	ResetNetworkConnections()
}

// ErrNotThisProtocol is what a PushParsingProtocol returns for a push that
// another protocol's network sent, so the multiplexer asks the next one.
var ErrNotThisProtocol = errors.New("not this protocol's push notification")

// PushParsingProtocol parses native push notifications of its network.
type PushParsingProtocol interface {
	ParsePushNotification(ctx context.Context, data json.RawMessage) (networkid.UserLoginID, any, error)
}

// UserIDValidatingProtocol checks the shape of the native part of its ghost
// IDs (no network lookup). Without it, any non-empty native part is valid.
type UserIDValidatingProtocol interface {
	ValidateUserID(native string) bool
}

// SplitPortalMigratingProtocol prepares the protocol's own tables before
// bridgev2 migrates to split portals. bridgev2 calls this before the
// connectors start, so imbridge's own tables may not be upgraded yet.
type SplitPortalMigratingProtocol interface {
	PreSplitPortalMigrate(ctx context.Context) error
}

// IdentifierClaimingProtocol says, without network I/O, whether an
// unqualified identifier a user typed is surely one of its own (a Teams MRI
// such as "8:orgid:…", a Skype "live:" name), so start-chat and provisioning
// ask that protocol's login first. Identifiers two protocols share (e-mail
// addresses) are claimed by neither and go to each login in turn.
type IdentifierClaimingProtocol interface {
	ClaimsIdentifier(identifier string) bool
}

// GroupTypeKey is the key under which the multiplexer lists a protocol's
// group type in the merged Provisioning.GroupCreation, and so the value of
// GroupCreateParams.Type its client receives: the protocol's own key when it
// already starts with "<protocol>.", else the key with that prefix added, so
// two protocols' "group" types cannot collide.
func GroupTypeKey(p ids.Protocol, typ string) string {
	if ids.Owns(p, typ) {
		return typ
	}
	return ids.Make(p, typ)
}
