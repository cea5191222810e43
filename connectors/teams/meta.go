package teams

import (
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// The Teams metadata kinds: every Teams metadata value is made, read and
// declared through them, so it is stored under the "teams" key.
var (
	loginMeta   = protocol.NewKind[LoginMetadata](ids.Teams)
	ghostMeta   = protocol.NewKind[GhostMetadata](ids.Teams)
	messageMeta = protocol.NewKind[MessageMetadata](ids.Teams)
)

// LoginMetadata is what a Teams login keeps in bridgev2's user_login row.
type LoginMetadata struct {
	// MRI is the account's own MRI ("8:orgid:<oid>" or "8:live:…").
	MRI        string `json:"mri"`
	Deployment string `json:"deployment"` // teamsapi.Work or teamsapi.Consumer
	Email      string `json:"email,omitempty"`
	// EPID is the Trouter endpoint id, kept across restarts so the service
	// sees one device (a new one per connection hits the endpoint limit).
	EPID string `json:"epid"`
	// SealedCredentials is teamsapi.Credentials (with the rotating refresh
	// token) as JSON, sealed with the config's credential key and bound to
	// the login ID; re-sealed on every rotation.
	SealedCredentials string `json:"sealed_credentials"`

	// lock guards EPID and SealedCredentials, which the session changes
	// while bridgev2 may be saving the login on another goroutine.
	lock bridgekit.MetaLock
}

// MarshalJSON encodes the metadata under its lock.
func (m *LoginMetadata) MarshalJSON() ([]byte, error) {
	type fields LoginMetadata // without this method
	return m.lock.Marshal((*fields)(m))
}

// GhostMetadata remembers what the bridge learned about a person.
type GhostMetadata struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// MessageMetadata is kept per bridged message part.
type MessageMetadata struct {
	// ClientMessageID is the sender's clientmessageid (the echo key).
	ClientMessageID string `json:"cmid,omitempty"`
	// EditTime is the last edit bridged (ms), so a replayed update is not
	// bridged twice.
	EditTime int64 `json:"edit_time,omitempty"`
}
