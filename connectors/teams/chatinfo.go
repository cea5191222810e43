package teams

import (
	"context"
	"encoding/json"
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

// teamSpacePrefix marks the synthetic portal of a team's Matrix space. A
// team's root thread (threadType space) is also its General channel, whose
// posts need a room of their own, so the space cannot share its ID.
const teamSpacePrefix = "team:"

// teamSpaceID is the portal ID of the Matrix space of the team whose root
// thread is team.
func teamSpaceID(team string) networkid.PortalID {
	return ids.PortalID(ids.Teams, teamSpacePrefix+team)
}

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
	if team, ok := strings.CutPrefix(conv, teamSpacePrefix); ok {
		return c.teamSpaceInfo(ctx, chat, team)
	}
	th, err := chat.Thread(ctx, conv)
	if err != nil {
		// A work 1:1 chat has no thread object until its first message;
		// its members follow from its id.
		if info := c.derivedDMInfo(conv); info != nil {
			return info, nil
		}
		return nil, fmt.Errorf("read thread %s: %w", conv, err)
	}
	info := c.threadInfo(th)
	if info.Name == nil && strings.EqualFold(th.Properties.Get("threadType"), "topic") {
		// Channel threads may carry no topic; the team directory has
		// their names.
		name := firstNonEmpty(c.directoryName(ctx, th.Properties.Get("spaceId"), th.ID), "Channel")
		info.Name = &name
	}
	return info, nil
}

// teamSpaceInfo is the Matrix space of a team: its members are the root
// thread's, its name the team's.
func (c *Client) teamSpaceInfo(ctx context.Context, chat *chatsvc.Client, team string) (*bridgev2.ChatInfo, error) {
	th, err := chat.Thread(ctx, team)
	if err != nil {
		return nil, fmt.Errorf("read team thread %s: %w", team, err)
	}
	members, _ := c.threadMembers(th)
	space := database.RoomTypeSpace
	name := firstNonEmpty(th.Topic(), c.directoryName(ctx, team, ""), "Team")
	return &bridgev2.ChatInfo{Type: &space, Name: &name, Members: members, CanBackfill: false}, nil
}

// directoryName is a team's (channel "") or a channel's display name from
// the team directory, "" when it is not there.
func (c *Client) directoryName(ctx context.Context, team, channel string) string {
	if c.auth == nil || team == "" {
		return ""
	}
	teams, err := c.auth.Teams(ctx)
	if err != nil {
		c.log.Warn().Err(err).Str("team", team).Msg("Could not read the team directory for a name")
		return ""
	}
	for _, t := range teams {
		if !strings.EqualFold(t.ID, team) {
			continue
		}
		if channel == "" {
			return t.DisplayName
		}
		for _, ch := range t.Channels {
			if strings.EqualFold(ch.ID, channel) {
				return ch.DisplayName
			}
		}
	}
	return ""
}

// threadMembers lists a thread's people (bots and the thread itself left
// out) and the last one who is not the user.
func (c *Client) threadMembers(th *chatsvc.Thread) (*bridgev2.ChatMemberList, string) {
	// Only an answer that lists members is authoritative: one without must
	// not make a resync remove everyone (issue 7 item 12).
	members := &bridgev2.ChatMemberList{IsFull: len(th.Members) > 0, MemberMap: bridgev2.ChatMemberMap{}}
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
	// The user is in every chat asked about: a list without them must not
	// make a room whose first room keys reach none of their devices.
	members.MemberMap.Add(bridgev2.ChatMember{EventSender: c.sender(c.meta.MRI), Membership: event.MembershipJoin})
	return members, other
}

// threadInfo is the Matrix room info of a thread.
func (c *Client) threadInfo(th *chatsvc.Thread) *bridgev2.ChatInfo {
	members, other := c.threadMembers(th)
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
	group := database.RoomTypeDefault
	info.Type = &group
	switch strings.ToLower(th.Properties.Get("threadType")) {
	case "space":
		// A team's root thread is its General channel, a room in the
		// team's Matrix space (teamSpaceID).
		parent := teamSpaceID(th.ID)
		info.ParentID = &parent
		name := "General"
		info.Name = &name
		return info
	case "topic":
		if team := th.Properties.Get("spaceId"); team != "" {
			parent := teamSpaceID(team)
			info.ParentID = &parent
		}
		// A channel without a topic is named from the team directory
		// (GetChatInfo), never after its members.
		if topic := th.Topic(); topic != "" {
			info.Name = &topic
		}
		return info
	}
	topic := th.Topic()
	if topic == "" {
		topic = firstNonEmpty(meetingSubject(th), c.memberNames(th))
	}
	info.Name = &topic
	return info
}

// meetingSubject is a meeting chat's subject from threadProperties.meeting
// (a JSON string), which some meeting threads carry instead of a topic.
func meetingSubject(th *chatsvc.Thread) string {
	raw := th.Properties.Get("meeting")
	if raw == "" {
		return ""
	}
	var m struct {
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return ""
	}
	return strings.TrimSpace(m.Subject)
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
			event.MsgFile:       {MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.MsgVideo:      {MimeTypes: map[string]event.CapabilitySupportLevel{"video/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.MsgAudio:      {MimeTypes: map[string]event.CapabilitySupportLevel{"audio/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.CapMsgSticker: {MimeTypes: map[string]event.CapabilitySupportLevel{"image/*": event.CapLevelPartialSupport}, MaxSize: 100 << 20}, // sent as a picture
		},
		LocationMessage:     event.CapLevelPartialSupport, // sent as text with a map link
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
