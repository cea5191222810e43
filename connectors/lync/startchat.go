package lync

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// ResolveIdentifier takes a SIP address or e-mail ("sip:" and "lync:"
// optional). Anything else, an identifier qualified with another protocol
// ("teams:…"), and any identifier while disconnected get "try next", so the
// bridge asks the user's other logins (bridge/ids.OwnIdentifier).
func (c *Client) ResolveIdentifier(ctx context.Context, identifier string, createChat bool) (*bridgev2.ResolveIdentifierResponse, error) {
	native, own := ids.OwnIdentifier(ids.Lync, identifier)
	if !own {
		return nil, fmt.Errorf("%w: %q is another network's identifier", bridgev2.ErrResolveIdentifierTryNext, identifier)
	}
	sip := normalizeSIP(native)
	if !isAddress(sip) {
		return nil, fmt.Errorf("%w: %q is not a SIP address or e-mail", bridgev2.ErrResolveIdentifierTryNext, identifier)
	}
	if !c.loggedIn.Load() {
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, bridgev2.ErrNotLoggedIn)
	}
	if err := c.checkExists(ctx, sip); err != nil {
		return nil, err
	}
	resp, err := c.resolved(ctx, sip, c.userInfo(ctx, sip, true))
	if err != nil {
		return nil, err
	}
	if createChat {
		resp.Chat = &bridgev2.CreateChatResponse{PortalKey: c.dmPortal(sip)}
	}
	return resp, nil
}

func (c *Client) resolved(ctx context.Context, sip string, info *bridgev2.UserInfo) (*bridgev2.ResolveIdentifierResponse, error) {
	userID := ids.UserID(ids.Lync, sip)
	ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("get ghost: %w", err)
	}
	return &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: userID, UserInfo: info}, nil
}

func (c *Client) CreateChatWithGhost(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.CreateChatResponse, error) {
	sip, err := ids.Parse(ids.Lync, string(ghost.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, err)
	}
	if !c.loggedIn.Load() {
		// Another Lync login of the same user may be connected.
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, bridgev2.ErrNotLoggedIn)
	}
	return &bridgev2.CreateChatResponse{PortalKey: c.dmPortal(sip)}, nil
}

// GetContactList returns the user's Skype for Business contact list.
func (c *Client) GetContactList(ctx context.Context) ([]*bridgev2.ResolveIdentifierResponse, error) {
	if !c.loggedIn.Load() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	contacts, err := c.api.Contacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return c.contactsToResponses(ctx, contacts)
}

// SearchUsers searches the organisation's directory.
func (c *Client) SearchUsers(ctx context.Context, query string) ([]*bridgev2.ResolveIdentifierResponse, error) {
	if !c.loggedIn.Load() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	found, err := c.api.Search(ctx, query, 20)
	if err != nil {
		return nil, fmt.Errorf("search directory: %w", err)
	}
	return c.contactsToResponses(ctx, found)
}

func (c *Client) contactsToResponses(ctx context.Context, contacts []ucwa.Contact) ([]*bridgev2.ResolveIdentifierResponse, error) {
	out := make([]*bridgev2.ResolveIdentifierResponse, 0, len(contacts))
	for _, ct := range contacts {
		sip := normalizeSIP(ct.URI)
		if sip == "" {
			continue
		}
		info := &bridgev2.UserInfo{Identifiers: []string{"sip:" + sip}, Name: nonEmpty(ct.Name)}
		resp, err := c.resolved(ctx, sip, info)
		if err != nil {
			return nil, err
		}
		out = append(out, resp)
	}
	return out, nil
}

// ClaimsIdentifier: a "sip:" address is surely Skype for Business, so the
// bridge asks the Lync login first (protocol.IdentifierClaimingProtocol).
func (c *Connector) ClaimsIdentifier(identifier string) bool {
	s := strings.TrimSpace(identifier)
	return len(s) > 4 && strings.EqualFold(s[:4], "sip:")
}

// checkExists looks an address of the user's own organisation up in the
// directory before a chat is made for it, so a typo is refused at once
// instead of failing on the first message. Addresses of other domains
// (federation) are not in the directory and pass.
func (c *Client) checkExists(ctx context.Context, sip string) error {
	_, domain, _ := strings.Cut(sip, "@")
	_, own, _ := strings.Cut(c.meta.SIP, "@")
	if !strings.EqualFold(domain, own) {
		return nil
	}
	found, err := c.api.Search(ctx, sip, 5)
	if err != nil {
		c.log.Warn().Err(err).Str("sip", sip).Msg("Directory lookup failed")
		return fmt.Errorf("could not look %s up in the Skype for Business directory; try again later", sip)
	}
	for i := range found {
		if normalizeSIP(found[i].URI) == sip {
			return nil
		}
	}
	return fmt.Errorf("there is no one with the Skype for Business address %s in your organisation's directory", sip)
}
