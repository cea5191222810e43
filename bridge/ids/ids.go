// Package ids builds and parses the protocol-prefixed network IDs that imbridge
// stores in bridgev2's tables.
//
// One appservice serves several protocols, so bridgev2 sees a single ID space.
// Every login, portal, ghost and message ID therefore starts with its protocol
// name and a dot ("lync.", "skype.", "teams."); protocol names contain no dot, so
// the first dot always ends the prefix and the rest is the native ID, unchanged.
//
// Ghost and login IDs are network addresses that the networks compare without
// regard to case (SIP URIs, e-mail addresses, Skype names, Teams MRIs); they are
// folded to lower case, which makes "Alice@Corp" and "alice@corp" one ghost, as on
// the network, and keeps ghost MXIDs free of bridgev2's "_x" upper-case escapes
// (@imbridge_lync.alice=40corp.com rather than @imbridge_lync._alice=40_corp.com).
// Portal and message IDs keep their case: base64 thread IDs are case-sensitive.
package ids

import (
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2/networkid"
)

// Protocol names one of the bridged networks. Its string form is the ID prefix.
type Protocol string

const (
	Lync  Protocol = "lync"
	Skype Protocol = "skype"
	Teams Protocol = "teams"
)

// Known lists every protocol imbridge has a config section for, in display order.
var Known = []Protocol{Lync, Skype, Teams}

// IsKnown reports whether p is one of the protocols in Known.
func IsKnown(p Protocol) bool {
	for _, k := range Known {
		if k == p {
			return true
		}
	}
	return false
}

const separator = "."

var (
	// ErrForeignID is returned when an ID belongs to another protocol.
	ErrForeignID = errors.New("ID belongs to another protocol")
	// ErrMalformedID is returned when an ID has no known protocol prefix or no body.
	ErrMalformedID = errors.New("malformed ID")
)

// Make builds a prefixed ID from a protocol and a case-sensitive native ID.
func Make(p Protocol, native string) string {
	return string(p) + separator + native
}

// MakeAddress builds a prefixed ID from a case-insensitive network address.
func MakeAddress(p Protocol, address string) string {
	return Make(p, strings.ToLower(address))
}

// Split returns the protocol and the native part of a prefixed ID.
func Split(id string) (Protocol, string, error) {
	proto, native, ok := strings.Cut(id, separator)
	if !ok || native == "" {
		return "", "", fmt.Errorf("%w: %q has no protocol prefix", ErrMalformedID, id)
	}
	if !IsKnown(Protocol(proto)) {
		return "", "", fmt.Errorf("%w: unknown protocol prefix %q", ErrMalformedID, proto)
	}
	return Protocol(proto), native, nil
}

// ProtocolOf returns the protocol prefix of an ID.
func ProtocolOf(id string) (Protocol, error) {
	p, _, err := Split(id)
	return p, err
}

// Parse checks that id belongs to protocol p and returns the native ID.
func Parse(p Protocol, id string) (string, error) {
	got, native, err := Split(id)
	if err != nil {
		return "", err
	}
	if got != p {
		return "", fmt.Errorf("%w: %q is a %s ID, not %s", ErrForeignID, id, got, p)
	}
	return native, nil
}

// Owns reports whether id carries protocol p's prefix and a non-empty native part.
func Owns(p Protocol, id string) bool {
	return strings.HasPrefix(id, string(p)+separator) && len(id) > len(p)+len(separator)
}

// UserLoginID builds a login ID from the account's network address.
func UserLoginID(p Protocol, address string) networkid.UserLoginID {
	return networkid.UserLoginID(MakeAddress(p, address))
}

// UserID builds a ghost ID from a remote user's network address.
func UserID(p Protocol, address string) networkid.UserID {
	return networkid.UserID(MakeAddress(p, address))
}

// PortalID builds a portal ID from a case-sensitive conversation ID.
func PortalID(p Protocol, native string) networkid.PortalID {
	return networkid.PortalID(Make(p, native))
}

// MessageID builds a message ID from a case-sensitive message ID.
func MessageID(p Protocol, native string) networkid.MessageID {
	return networkid.MessageID(Make(p, native))
}

// CheckPortal returns an ErrForeignID error unless the portal (and its receiver,
// when it has one) belongs to p. It is the guard of bridgev2 notes §3.1 item 8:
// bridgev2 may hand a login a portal of another protocol when it falls back to a
// random login, and a protocol client must refuse that portal.
func CheckPortal(p Protocol, key networkid.PortalKey) error {
	if !Owns(p, string(key.ID)) {
		return fmt.Errorf("%w: portal %q is not a %s portal", ErrForeignID, key.ID, p)
	}
	if key.Receiver != "" && !Owns(p, string(key.Receiver)) {
		return fmt.Errorf("%w: portal %q belongs to login %q, not a %s login", ErrForeignID, key.ID, key.Receiver, p)
	}
	return nil
}

// MediaID builds a media ID (for direct media, bridgev2 notes §3.1 item 11)
// from a protocol's own media reference, so the multiplexer can hand a
// download to the protocol that made the ID.
func MediaID(p Protocol, native []byte) networkid.MediaID {
	return networkid.MediaID(append([]byte(string(p)+separator), native...))
}

// ParseMediaID splits a media ID built by MediaID.
func ParseMediaID(mediaID networkid.MediaID) (Protocol, []byte, error) {
	p, native, err := Split(string(mediaID))
	if err != nil {
		return "", nil, fmt.Errorf("media ID: %w", err)
	}
	return p, []byte(native), nil
}

// AvatarID builds an avatar ID from a protocol's own (case-sensitive) photo
// reference. Avatar IDs share one namespace in bridgev2's tables, so they carry
// the protocol prefix like every other ID.
func AvatarID(p Protocol, native string) networkid.AvatarID {
	return networkid.AvatarID(Make(p, native))
}

// identifierSeparator ends the protocol name in a user-typed identifier
// ("teams:alice@corp.example"). It is a colon, not the dot of stored IDs,
// because that is how people already write scheme-qualified addresses
// ("sip:bob@corp.example"), and a dot could be part of a Skype name.
const identifierSeparator = ":"

// ParseIdentifier reads the protocol a user named in an identifier they typed
// (start-chat, resolve-identifier, search, provisioning): "teams:alice@corp.example"
// and "lync:bob@corp.example" name their protocol (case-insensitively, spaces
// around the colon allowed); anything else, including "sip:bob@corp.example"
// (sip is not a protocol), is unqualified and returned unchanged with p == "".
func ParseIdentifier(identifier string) (p Protocol, rest string) {
	identifier = strings.TrimSpace(identifier)
	name, after, ok := strings.Cut(identifier, identifierSeparator)
	if !ok {
		return "", identifier
	}
	cand := Protocol(strings.ToLower(strings.TrimSpace(name)))
	after = strings.TrimSpace(after)
	if !IsKnown(cand) || after == "" {
		return "", identifier
	}
	return cand, after
}

// QualifyIdentifier is the inverse of ParseIdentifier: the form to show users.
func QualifyIdentifier(p Protocol, identifier string) string {
	return string(p) + identifierSeparator + identifier
}

// OwnIdentifier decides whether an identifier handed to protocol p's client is
// p's to resolve, and returns it without any qualification. It is false for an
// identifier qualified with another protocol ("teams:…" given to lync) and for
// another protocol's stored user ID ("teams.…", which bridgev2 passes when a
// ghost is invited); the client must then answer bridgev2.ErrResolveIdentifierTryNext.
func OwnIdentifier(p Protocol, identifier string) (string, bool) {
	if q, rest := ParseIdentifier(identifier); q != "" {
		return rest, q == p
	}
	identifier = strings.TrimSpace(identifier)
	if other, native, err := Split(identifier); err == nil {
		return native, other == p
	}
	return identifier, true
}
