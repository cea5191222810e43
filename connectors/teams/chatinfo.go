package teams

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// GetChatInfo reads the thread (members, topic, kind) of a portal.
func (c *Client) GetChatInfo(ctx context.Context, portal *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
	if err := c.CheckPortal(portal); err != nil {
		return nil, err
	}
	chat := c.chatClient()
	if chat == nil {
		return nil, bridgev2.ErrNotLoggedIn
	}
	conv := native(portal)
	th, err := chat.Thread(ctx, conv)
	if err != nil {
		// A work 1:1 chat has no thread object until its first message;
		// its members follow from its id.
		if info := c.derivedDMInfo(conv); info != nil {
			return info, nil
		}
		return nil, fmt.Errorf("read thread %s: %w", conv, err)
	}
	return c.threadInfo(th), nil
}

// threadInfo is the Matrix room info of a thread.
func (c *Client) threadInfo(th *chatsvc.Thread) *bridgev2.ChatInfo {
	members := &bridgev2.ChatMemberList{IsFull: true, MemberMap: bridgev2.ChatMemberMap{}}
	var other string
	for _, m := range th.Members {
		mri := chatsvc.MRIFromURL(firstNonEmpty(m.ID, m.UserLink))
		if mri == "" || !strings.HasPrefix(mri, "8:") {
			continue // bots, the thread itself and other non-person members
		}
		cm := bridgev2.ChatMember{EventSender: c.sender(mri), Membership: event.MembershipJoin}
		if strings.EqualFold(m.Role, "Admin") {
			pl := 50
			cm.PowerLevel = &pl
		}
		if m.FriendlyName != "" && !cm.IsFromMe {
			name := m.FriendlyName
			cm.UserInfo = &bridgev2.UserInfo{Name: &name}
		}
		if !cm.IsFromMe {
			other = mri
		}
		members.MemberMap.Set(cm)
	}
	info := &bridgev2.ChatInfo{Members: members, CanBackfill: true}
	if th.IsOneToOne() || chatsvc.IsOneToOne(th.ID, th.Properties) {
		dm := database.RoomTypeDM
		info.Type = &dm
		if other != "" {
			members.OtherUserID = ids.UserID(ids.Teams, other)
		}
		markDirect(members)
		return info
	}
	switch strings.ToLower(th.Properties.Get("threadType")) {
	case "space":
		// A team: its channels are rooms in this Matrix space.
		space := database.RoomTypeSpace
		info.Type = &space
		name := firstNonEmpty(th.Topic(), "Team")
		info.Name = &name
		info.CanBackfill = false
		return info
	case "topic":
		if team := th.Properties.Get("spaceId"); team != "" {
			parent := ids.PortalID(ids.Teams, team)
			info.ParentID = &parent
		}
	}
	group := database.RoomTypeDefault
	info.Type = &group
	topic := th.Topic()
	if topic == "" {
		topic = c.memberNames(th)
	}
	info.Name = &topic
	return info
}

// memberNames names a chat without a topic the way Teams shows it.
func (c *Client) memberNames(th *chatsvc.Thread) string {
	var names []string
	for _, m := range th.Members {
		if isSelf(m.ID, c.meta.MRI) || m.FriendlyName == "" {
			continue
		}
		names = append(names, m.FriendlyName)
	}
	if len(names) == 0 {
		return "Group chat"
	}
	return strings.Join(names, ", ")
}

// derivedDMInfo is the info of a work 1:1 chat known only by its id
// ("19:<oidA>_<oidB>@unq.gbl.spaces").
func (c *Client) derivedDMInfo(conv string) *bridgev2.ChatInfo {
	if !strings.HasSuffix(conv, "@unq.gbl.spaces") {
		return nil
	}
	body := strings.TrimSuffix(strings.TrimPrefix(conv, "19:"), "@unq.gbl.spaces")
	a, b, ok := strings.Cut(body, "_")
	if !ok {
		return nil
	}
	self, _ := teamsapi.OIDFromMRI(c.meta.MRI)
	other := a
	if strings.EqualFold(a, self) {
		other = b
	}
	otherMRI := "8:orgid:" + other
	dm := database.RoomTypeDM
	members := &bridgev2.ChatMemberList{IsFull: true, OtherUserID: ids.UserID(ids.Teams, otherMRI), MemberMap: bridgev2.ChatMemberMap{}}
	members.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(c.meta.MRI), Membership: event.MembershipJoin})
	members.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(otherMRI), Membership: event.MembershipJoin})
	markDirect(members)
	return &bridgev2.ChatInfo{Type: &dm, Members: members, CanBackfill: true}
}

// markDirect puts is_direct on the user's own invite to a DM, or Element
// shows the chat as a plain room.
func markDirect(members *bridgev2.ChatMemberList) {
	for id, m := range members.MemberMap {
		if m.IsFromMe {
			m.MemberEventExtra = map[string]any{"is_direct": true}
			members.MemberMap[id] = m
		}
	}
}

// GetUserInfo reads a person's profile from the middle tier.
func (c *Client) GetUserInfo(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.UserInfo, error) {
	mri, err := ids.Parse(ids.Teams, string(ghost.ID))
	if err != nil {
		return nil, err
	}
	gm, err := ghostMeta.Get(ghost.Metadata)
	if err != nil {
		return nil, err
	}
	if c.auth == nil {
		return nil, bridgev2.ErrNotLoggedIn
	}
	profiles, err := c.auth.Profiles(ctx, []string{mri})
	if err != nil {
		return nil, fmt.Errorf("read profile of %s: %w", mri, err)
	}
	for _, p := range profiles {
		if strings.EqualFold(p.MRI, mri) {
			gm.Name, gm.Email = p.DisplayName, firstNonEmpty(p.Email, p.UserPrincipalName)
		}
	}
	info := &bridgev2.UserInfo{ExtraUpdates: func(context.Context, *bridgev2.Ghost) bool { return true }}
	ghost.Metadata = ghostMeta.Wrap(gm)
	if gm.Name != "" {
		name := gm.Name
		info.Name = &name
	}
	if gm.Email != "" {
		info.Identifiers = []string{ids.QualifyIdentifier(ids.Teams, gm.Email)}
	}
	return info, nil
}

func (c *Client) GetCapabilities(ctx context.Context, portal *bridgev2.Portal) *event.RoomFeatures {
	if isChannel(native(portal)) {
		caps := c.chatCapabilities()
		caps.ID += ".channel"
		caps.Thread = event.CapLevelFullySupported
		return caps
	}
	return c.chatCapabilities()
}

// isChannel reports a team channel (reply chains), as opposed to a chat.
func isChannel(conv string) bool {
	return strings.HasSuffix(conv, "@thread.tacv2") || strings.HasSuffix(conv, "@thread.skype")
}

func (c *Client) chatCapabilities() *event.RoomFeatures {
	return &event.RoomFeatures{
		ID:         "fi.imbridge.teams.capabilities.2026_12_01",
		Formatting: event.FormattingFeatureMap{event.FmtBold: event.CapLevelFullySupported, event.FmtItalic: event.CapLevelFullySupported, event.FmtStrikethrough: event.CapLevelFullySupported, event.FmtInlineCode: event.CapLevelFullySupported, event.FmtCodeBlock: event.CapLevelFullySupported, event.FmtBlockquote: event.CapLevelFullySupported, event.FmtUnorderedList: event.CapLevelFullySupported, event.FmtOrderedList: event.CapLevelFullySupported, event.FmtInlineLink: event.CapLevelFullySupported, event.FmtUserLink: event.CapLevelFullySupported},
		File: event.FileFeatureMap{
			event.MsgImage: {MimeTypes: map[string]event.CapabilitySupportLevel{"image/*": event.CapLevelFullySupported}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			// Files go to AMS; work clients see them as a link.
			event.MsgFile:  {MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.MsgVideo: {MimeTypes: map[string]event.CapabilitySupportLevel{"video/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.MsgAudio: {MimeTypes: map[string]event.CapabilitySupportLevel{"audio/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
		},
		Reply:               event.CapLevelFullySupported,
		Edit:                event.CapLevelFullySupported,
		Delete:              event.CapLevelFullySupported,
		Reaction:            event.CapLevelFullySupported,
		ReactionCount:       1,
		ReadReceipts:        true,
		TypingNotifications: true,
	}
}

func ghostID(mri string) networkid.UserID { return ids.UserID(ids.Teams, mri) }
