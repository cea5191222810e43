package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/provisionutil"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

// bridgev2 picks "the default login" (the alphabetically first login ID) for
// start-chat, search, set-relay and the provisioning API, which with logins on
// several networks means Lync always wins. The functions here choose the login
// from the identifier instead (docs/identifiers.md):
//
//  1. "teams:alice@corp.example" names the protocol: only the user's logins of
//     that protocol are asked, with the identifier after the colon;
//  2. a ghost's Matrix ID or a stored user ID ("teams.…") belongs to the
//     protocol of its prefix;
//  3. otherwise the logins are asked in turn, each answering
//     ErrResolveIdentifierTryNext for what is not theirs: first those of a
//     protocol that claims the identifier's syntax, then logins whose account
//     has the identifier's domain, then the rest.

// route is the outcome of reading an identifier: the logins to ask, in
// order, and the identifier to give them.
type route struct {
	logins     []*bridgev2.UserLogin
	identifier string
	// only is the protocol the identifier named or belongs to, if any.
	only ids.Protocol
}

func sortedLogins(user *bridgev2.User) []*bridgev2.UserLogin {
	logins := user.GetUserLogins()
	slices.SortFunc(logins, func(a, b *bridgev2.UserLogin) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return logins
}

func loginProtocol(login *bridgev2.UserLogin) ids.Protocol {
	p, _ := ids.ProtocolOf(string(login.ID))
	return p
}

// routeIdentifier orders the user's logins for an identifier (see above).
func (c *Connector) routeIdentifier(user *bridgev2.User, identifier string) route {
	identifier = strings.TrimSpace(identifier)
	all := sortedLogins(user)
	only := func(p ids.Protocol, ident string) route {
		r := route{identifier: ident, only: p}
		for _, l := range all {
			if loginProtocol(l) == p {
				r.logins = append(r.logins, l)
			}
		}
		return r
	}
	if p, rest := ids.ParseIdentifier(identifier); p != "" {
		return only(p, rest)
	}
	if strings.HasPrefix(identifier, "@") && c.Bridge != nil {
		if ghostID, ok := c.Bridge.Matrix.ParseGhostMXID(id.UserID(identifier)); ok {
			if p, err := ids.ProtocolOf(string(ghostID)); err == nil {
				return only(p, identifier)
			}
		}
	}
	if p, native, err := ids.Split(identifier); err == nil && c.protocols[p] != nil {
		return only(p, native)
	}
	rank := func(l *bridgev2.UserLogin) int {
		p := loginProtocol(l)
		if cl, ok := c.protocols[p].(protocol.IdentifierClaimingProtocol); ok && c.Config.Enabled(p) && cl.ClaimsIdentifier(identifier) {
			return 0
		}
		if sameDomain(identifier, l.RemoteName) {
			return 1
		}
		return 2
	}
	ordered := slices.Clone(all)
	slices.SortStableFunc(ordered, func(a, b *bridgev2.UserLogin) int { return rank(a) - rank(b) })
	return route{logins: ordered, identifier: identifier}
}

// sameDomain reports whether two addresses have the same domain after "@".
func sameDomain(a, b string) bool {
	_, da, okA := strings.Cut(a, "@")
	_, db, okB := strings.Cut(b, "@")
	return okA && okB && da != "" && strings.EqualFold(da, db)
}

// errNoLoginFor is returned when the user has no login that could take an
// identifier.
var errNoLoginFor = errors.New("no login for this identifier")

// resolveIdentifier asks the routed logins in turn until one answers
// something other than "try next".
func (c *Connector) resolveIdentifier(ctx context.Context, r route, createChat bool) (*provisionutil.RespResolveIdentifier, *bridgev2.UserLogin, error) {
	if len(r.logins) == 0 {
		if r.only != "" {
			return nil, nil, fmt.Errorf("%w: you have no %s login", errNoLoginFor, c.networkName(r.only))
		}
		return nil, nil, fmt.Errorf("%w: you are not logged in", errNoLoginFor)
	}
	var reasons []string
	for _, login := range r.logins {
		if _, ok := login.Client.(bridgev2.IdentifierResolvingNetworkAPI); !ok {
			continue
		}
		resp, err := provisionutil.ResolveIdentifier(ctx, login, r.identifier, createChat)
		if errors.Is(err, bridgev2.ErrResolveIdentifierTryNext) {
			reasons = append(reasons, fmt.Sprintf("%s: %v", login.ID, err))
			continue
		}
		return resp, login, err
	}
	return nil, nil, fmt.Errorf("%w: none of your logins knows %q (%s)", errNoLoginFor, r.identifier, strings.Join(reasons, "; "))
}

// networkName is a protocol's display name ("Skype for Business").
func (c *Connector) networkName(p ids.Protocol) string {
	if proto := c.protocols[p]; proto != nil {
		return proto.Info().DisplayName
	}
	return string(p)
}
