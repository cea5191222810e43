package skype

import (
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// The Skype metadata kinds: every Skype metadata value is made, read and
// declared through them, so it is stored under the "skype" key.
var (
	loginMeta   = protocol.NewKind[LoginMetadata](ids.Skype)
	messageMeta = protocol.NewKind[MessageMetadata](ids.Skype)
)

// LoginMetadata is what a Skype login keeps in bridgev2's user_login row.
// Secrets are sealed with the config's credential key and bound to the
// login ID; the row is deleted on logout.
type LoginMetadata struct {
	// UserID is the Skype name ("live:carol", "joe.4").
	UserID string `json:"user_id"`
	// SignIn is what the user signed in with (e-mail or Skype name); empty
	// for a token login.
	SignIn string `json:"sign_in,omitempty"`
	// SealedPassword lets the bridge sign in again when the ~24 h
	// skypetoken lapses; empty for a token login.
	SealedPassword string `json:"sealed_password,omitempty"`
	// SealedToken is the current skypetoken with its expiry, so a restart
	// resumes without a new sign-in.
	SealedToken string `json:"sealed_token,omitempty"`

	// lock guards SealedToken, renewed while bridgev2 may save the row.
	lock bridgekit.MetaLock
}

func (m *LoginMetadata) setSealedToken(s string) { m.lock.Set(&m.SealedToken, s) }
func (m *LoginMetadata) sealedToken() string     { return m.lock.Get(&m.SealedToken) }

// MarshalJSON encodes the metadata under its lock.
func (m *LoginMetadata) MarshalJSON() ([]byte, error) {
	type fields LoginMetadata // without this method
	return m.lock.Marshal((*fields)(m))
}

// MessageMetadata is kept per bridged message: Skype's edit and delete calls
// address a message by its server id, while edits arriving from Skype name
// the original by clientmessageid (the bridgev2 message ID).
type MessageMetadata struct {
	ServerID string `json:"server_id,omitempty"`
	// LastEditID is the server id of the last edit record applied, so a
	// catch-up does not apply it again.
	LastEditID int64 `json:"last_edit_id,omitempty"`
}

// sealedSession is the sealed form of a skypeapi.Session.
type sealedSession struct {
	Token   string `json:"token"`
	Expires int64  `json:"expires,omitempty"` // unix seconds
	UserID  string `json:"user_id"`
	SignIn  string `json:"sign_in,omitempty"`
}
