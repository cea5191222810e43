package skype

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

var (
	_ bridgev2.IdentifierResolvingNetworkAPI = (*Client)(nil)
	_ bridgev2.ContactListingNetworkAPI      = (*Client)(nil)
	_ bridgev2.UserSearchingNetworkAPI       = (*Client)(nil)
	_ bridgev2.GroupCreatingNetworkAPI       = (*Client)(nil)
	_ bridgev2.MembershipHandlingNetworkAPI  = (*Client)(nil)
	_ bridgev2.RoomNameHandlingNetworkAPI    = (*Client)(nil)
)

// skypeName normalises what a user typed for a Skype user: "live:carol",
// "8:live:carol" or "skype:live:carol" all become the MRI "8:live:carol".
func skypeName(identifier string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(identifier))
	s = strings.TrimPrefix(s, "8:")
	if s == "" || strings.ContainsAny(s, " /@\t\n") && !strings.HasPrefix(s, "live:") {
		return "", false
	}
	if strings.ContainsAny(s, " /\t\n") {
		return "", false
	}
	return "8:" + s, true
}

// ResolveIdentifier takes a Skype name. Another protocol's identifier, and
// any identifier while disconnected, get "try next".
func (c *Client) ResolveIdentifier(ctx context.Context, identifier string, createChat bool) (*bridgev2.ResolveIdentifierResponse, error) {
	nat, own := ids.OwnIdentifier(ids.Skype, identifier)
	if !own {
		return nil, fmt.Errorf("%w: %q is another network's identifier", bridgev2.ErrResolveIdentifierTryNext, identifier)
	}
	mri, ok := skypeName(nat)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a Skype name", bridgev2.ErrResolveIdentifierTryNext, identifier)
	}
	if !c.IsLoggedIn() {
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, bridgev2.ErrNotLoggedIn)
	}
	profiles, err := c.api.Profiles(ctx, mri)
	if err != nil {
		return nil, fmt.Errorf("look up %s on Skype: %w", mri, err)
	}
	if len(profiles) == 0 {
		return nil, fmt.Errorf("there is no Skype user %s", strings.TrimPrefix(mri, "8:"))
	}
	resp, err := c.resolved(ctx, mri, profiles[0].Name())
	if err != nil {
		return nil, err
	}
	if createChat {
		resp.Chat = &bridgev2.CreateChatResponse{PortalKey: c.portalKey(mri)}
	}
	return resp, nil
}

func (c *Client) resolved(ctx context.Context, mri, name string) (*bridgev2.ResolveIdentifierResponse, error) {
	userID := ghostID(mri)
	ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("get ghost: %w", err)
	}
	info := &bridgev2.UserInfo{Identifiers: []string{ids.QualifyIdentifier(ids.Skype, strings.TrimPrefix(mri, "8:"))}}
	if name != "" {
		info.Name = &name
	}
	return &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: userID, UserInfo: info}, nil
}

// CreateChatWithGhost opens the 1:1 with a Skype ghost (start-chat, or a
// Matrix user inviting the ghost to a new DM).
func (c *Client) CreateChatWithGhost(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.CreateChatResponse, error) {
	mri, err := ids.Parse(ids.Skype, string(ghost.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, err)
	}
	if !c.IsLoggedIn() {
		return nil, fmt.Errorf("%w: %w", bridgev2.ErrResolveIdentifierTryNext, bridgev2.ErrNotLoggedIn)
	}
	return &bridgev2.CreateChatResponse{PortalKey: c.portalKey(mri)}, nil
}

// GetContactList returns the user's Skype contacts.
func (c *Client) GetContactList(ctx context.Context) ([]*bridgev2.ResolveIdentifierResponse, error) {
	if !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	contacts, err := c.api.Contacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Skype contacts: %w", err)
	}
	return c.contactResponses(ctx, contacts, "")
}

// SearchUsers matches the contacts by name or Skype name, and looks the
// query up as a Skype name (Skype has no directory search).
func (c *Client) SearchUsers(ctx context.Context, query string) ([]*bridgev2.ResolveIdentifierResponse, error) {
	if !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	contacts, err := c.api.Contacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Skype contacts: %w", err)
	}
	out, err := c.contactResponses(ctx, contacts, strings.ToLower(strings.TrimSpace(query)))
	if err != nil {
		return nil, err
	}
	if mri, ok := skypeName(query); ok {
		for _, r := range out {
			if r.UserID == ghostID(mri) {
				return out, nil
			}
		}
		if profiles, err := c.api.Profiles(ctx, mri); err == nil && len(profiles) > 0 {
			r, err := c.resolved(ctx, mri, profiles[0].Name())
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *Client) contactResponses(ctx context.Context, contacts []skypeapi.Contact, filter string) ([]*bridgev2.ResolveIdentifierResponse, error) {
	var out []*bridgev2.ResolveIdentifierResponse
	for i := range contacts {
		ct := &contacts[i]
		if ct.Blocked || !strings.HasPrefix(ct.MRI, "8:") {
			continue
		}
		if filter != "" && !strings.Contains(strings.ToLower(ct.Name()), filter) && !strings.Contains(strings.ToLower(ct.MRI), filter) {
			continue
		}
		r, err := c.resolved(ctx, strings.ToLower(ct.MRI), ct.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// CreateGroup creates a Skype group thread with the given ghosts.
func (c *Client) CreateGroup(ctx context.Context, params *bridgev2.GroupCreateParams) (*bridgev2.CreateChatResponse, error) {
	if !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	var members []string
	for _, p := range params.Participants {
		mri, err := ids.Parse(ids.Skype, string(p))
		if err != nil {
			return nil, fmt.Errorf("%s is not a Skype user: %w", p, err)
		}
		members = append(members, mri)
	}
	topic := ""
	if params.Name != nil {
		topic = params.Name.Name
	}
	thread, err := c.api.CreateGroup(ctx, topic, members...)
	if err != nil {
		return nil, fmt.Errorf("create the Skype group: %w", err)
	}
	return &bridgev2.CreateChatResponse{PortalKey: c.portalKey(thread)}, nil
}

// HandleMatrixMembership adds a Skype ghost invited in Matrix to the group,
// and removes one that is kicked; the user leaving leaves the group.
func (c *Client) HandleMatrixMembership(ctx context.Context, msg *bridgev2.MatrixMembershipChange) (*bridgev2.MatrixMembershipResult, error) {
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(conv, "19:") {
		return nil, errors.New("a Skype 1:1 chat cannot have other members; start a group instead")
	}
	var mri string
	switch t := msg.Target.(type) {
	case *bridgev2.Ghost:
		if mri, err = ids.Parse(ids.Skype, string(t.ID)); err != nil {
			return nil, fmt.Errorf("%s is not a Skype user", t.ID)
		}
	case *bridgev2.UserLogin:
		if t.ID != c.Login.ID {
			return nil, errors.New("only Skype users can be added to a Skype group")
		}
		mri = c.selfMRI()
	default:
		return nil, errors.New("unsupported membership target")
	}
	switch msg.Type {
	case bridgev2.Invite:
		err = c.api.AddMember(ctx, conv, mri, "User")
	case bridgev2.Kick, bridgev2.Leave:
		err = c.api.RemoveMember(ctx, conv, mri)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("change Skype group membership: %w", err)
	}
	return nil, nil
}

// HandleMatrixRoomName renames the Skype group.
func (c *Client) HandleMatrixRoomName(ctx context.Context, msg *bridgev2.MatrixRoomName) (bool, error) {
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return false, err
	}
	if !strings.HasPrefix(conv, "19:") {
		return false, nil
	}
	if err = c.api.SetTopic(ctx, conv, msg.Content.Name); err != nil {
		return false, fmt.Errorf("rename the Skype group: %w", err)
	}
	return true, nil
}
