package teams

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// ResolveIdentifier takes an MRI ("8:orgid:…", "8:live:…") or an e-mail
// address known to the middle tier, and finds (or makes) the 1:1 chat.
func (c *Client) ResolveIdentifier(ctx context.Context, identifier string, createChat bool) (*bridgev2.ResolveIdentifierResponse, error) {
	ident, ok := ids.OwnIdentifier(ids.Teams, identifier)
	if !ok || !c.IsLoggedIn() {
		return nil, bridgev2.ErrResolveIdentifierTryNext
	}
	mri, name, err := c.lookup(ctx, ident)
	if err != nil {
		return nil, err
	}
	if mri == "" {
		// Only someone who named Teams (teams:…, an MRI) is told here;
		// an unqualified address may belong to another network.
		if q, _ := ids.ParseIdentifier(identifier); q == ids.Teams || strings.HasPrefix(strings.ToLower(strings.TrimSpace(ident)), "8:") {
			return nil, fmt.Errorf("there is no Teams user %s: %w", ident, errNoSuchUser)
		}
		return nil, bridgev2.ErrResolveIdentifierTryNext
	}
	ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, ghostID(mri))
	if err != nil {
		return nil, fmt.Errorf("get ghost: %w", err)
	}
	resp := &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: ghostID(mri)}
	if name != "" {
		resp.UserInfo = &bridgev2.UserInfo{Name: &name, ExtraUpdates: lookUpPictureLater}
	}
	if createChat {
		if resp.Chat, err = c.dmWith(ctx, mri); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// lookup turns what a user typed into an MRI.
func (c *Client) lookup(ctx context.Context, ident string) (mri, name string, err error) {
	ident = strings.TrimSpace(ident)
	if strings.HasPrefix(strings.ToLower(ident), "8:") {
		mri = strings.ToLower(ident)
	} else if !strings.Contains(ident, "@") {
		return "", "", nil
	}
	if mri != "" {
		// Looked up first, so that no room is made for someone who does
		// not exist (the error would only come with the first send).
		profiles, err := c.auth.Profiles(ctx, []string{mri})
		if err != nil {
			return "", "", fmt.Errorf("look up %s: %w", mri, err)
		}
		for _, p := range profiles {
			if strings.EqualFold(p.MRI, mri) {
				return mri, p.DisplayName, nil
			}
		}
		return "", "", nil
	}
	// An e-mail address: the middle tier knows the people of the tenant.
	return c.lookupEmail(ctx, ident)
}

// errNoSuchUser is a start-chat for a person Teams does not know.
var errNoSuchUser = errors.New("no such person")

// dmWith returns the 1:1 chat with mri: derived for two work accounts,
// otherwise a unique-roster thread is created.
func (c *Client) dmWith(ctx context.Context, mri string) (*bridgev2.CreateChatResponse, error) {
	conv, ok := teamsapi.OneOnOneID(c.meta.MRI, mri)
	if !ok {
		var err error
		conv, err = c.chatClient().CreateThread(ctx, chatsvc.NewThread{Self: c.meta.MRI, Members: []string{mri}, OneToOne: true})
		if err != nil {
			return nil, fmt.Errorf("create the chat with %s: %w", mri, err)
		}
	}
	return &bridgev2.CreateChatResponse{PortalKey: c.portalKey(conv), PortalInfo: c.derivedDMInfo(conv)}, nil
}

func (c *Client) CreateChatWithGhost(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.CreateChatResponse, error) {
	mri, err := ids.Parse(ids.Teams, string(ghost.ID))
	if err != nil || !c.IsLoggedIn() {
		return nil, bridgev2.ErrResolveIdentifierTryNext
	}
	return c.dmWith(ctx, mri)
}

// SearchUsers finds people by name or address: an MRI or a known address
// is resolved directly; otherwise the Teams directory is searched (work
// accounts; Teams free has none) and merged with the Teams people the bridge
// has met (search.go).
func (c *Client) SearchUsers(ctx context.Context, query string) ([]*bridgev2.ResolveIdentifierResponse, error) {
	if !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	if r, err := c.ResolveIdentifier(ctx, query, false); err == nil && r != nil {
		return []*bridgev2.ResolveIdentifierResponse{r}, nil
	}
	return c.searchPeople(ctx, query)
}

// groupType is the Teams group chat type offered for group creation.
const groupType = "group"

// CreateGroup creates a Teams group chat with the participants (Teams
// ghosts) and the topic from the Matrix room's name.
func (c *Client) CreateGroup(ctx context.Context, params *bridgev2.GroupCreateParams) (*bridgev2.CreateChatResponse, error) {
	chat := c.chatClient()
	if chat == nil || !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	var members []string
	for _, p := range params.Participants {
		mri, err := ids.Parse(ids.Teams, string(p))
		if err != nil {
			return nil, fmt.Errorf("participant %s is not a Teams user: %w", p, err)
		}
		if !isSelf(mri, c.meta.MRI) {
			members = append(members, mri)
		}
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("a Teams group needs at least one other person")
	}
	topic := ""
	if params.Name != nil {
		topic = params.Name.Name
	}
	conv, err := chat.CreateThread(ctx, chatsvc.NewThread{Self: c.meta.MRI, Members: members, Topic: topic})
	if err != nil {
		return nil, fmt.Errorf("create the Teams group: %w", err)
	}
	th, err := chat.Thread(ctx, conv)
	if err != nil {
		return nil, fmt.Errorf("read the new Teams group: %w", err)
	}
	return &bridgev2.CreateChatResponse{PortalKey: c.portalKey(conv), PortalInfo: c.threadInfo(th)}, nil
}
