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
