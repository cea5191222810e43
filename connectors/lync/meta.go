package lync

import (
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// The Lync metadata kinds: every Lync metadata value is made, read and
// declared through them, so it is stored under the "lync" key.
var (
	loginMeta = protocol.NewKind[LoginMetadata](ids.Lync)
	ghostMeta = protocol.NewKind[GhostMetadata](ids.Lync)
)

// LoginMetadata is what a Lync login keeps in bridgev2's user_login row.
// Secrets are sealed with the config's credential key (package secretbox)
// and bound to the login ID; the row is deleted on logout.
type LoginMetadata struct {
	// Username is what the user signs in with (SIP address or e-mail).
	Username string `json:"username"`
	// SIP is the account's SIP address without "sip:", from the server.
	SIP string `json:"sip"`
	// DiscoveryURL is the discovery URL the login used, if not automatic.
	DiscoveryURL string `json:"discovery_url,omitempty"`
	// EndpointID identifies the bridge's UCWA application for this login; it
	// stays the same across restarts so the server sees one device.
	EndpointID string `json:"endpoint_id"`
	// SealedPassword lets the bridge sign in again when the 8-hour token
	// expires or the application is gone, without asking the user.
	SealedPassword string `json:"sealed_password"`
	// SealedToken is the current access token and its expiry, so a restart
	// resumes without a new password grant.
	SealedToken string `json:"sealed_token,omitempty"`

	// lock guards SealedToken, which the event loop renews while bridgev2
	// may be saving the login (marshalling this struct) on another goroutine.
	lock bridgekit.MetaLock
}

// setSealedToken replaces the sealed token under the lock MarshalJSON takes.
func (m *LoginMetadata) setSealedToken(sealed string) { m.lock.Set(&m.SealedToken, sealed) }

// MarshalJSON encodes the metadata under its lock.
func (m *LoginMetadata) MarshalJSON() ([]byte, error) {
	type fields LoginMetadata // without this method
	return m.lock.Marshal((*fields)(m))
}

// GhostMetadata remembers what the bridge learned about a colleague.
type GhostMetadata struct {
	Name string `json:"name,omitempty"`
}
