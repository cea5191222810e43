package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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

// meetingsSpacePrefix marks the synthetic portal of a login's "Meetings"
// space. Every calendar meeting leaves a chat behind, so, as mautrix-teams
// does, meeting chats are grouped in a sub-space of the user's space
// instead of crowding the chat list. The space is the login's own (its ID
// names the user's MRI), as meeting chat portals are.
const meetingsSpacePrefix = "meetings:"

// meetingsSpaceID is the portal ID of the Meetings space of the user mri.
func meetingsSpaceID(mri string) networkid.PortalID {
	return ids.PortalID(ids.Teams, meetingsSpacePrefix+mri)
}

// isMeetingChat reports the chat of a scheduled or ad-hoc meeting.
func isMeetingChat(th *chatsvc.Thread) bool {
	return strings.EqualFold(th.Properties.Get("threadType"), "meeting") || strings.HasPrefix(th.ID, "19:meeting_")
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
	if owner, ok := strings.CutPrefix(conv, meetingsSpacePrefix); ok {
		return c.meetingsSpaceInfo(owner), nil
	}
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

// meetingsSpaceInfo is the Meetings space of the user owner: only they are
// in it. The list is not full, so nobody else is ever removed by it.
func (c *Client) meetingsSpaceInfo(owner string) *bridgev2.ChatInfo {
	space := database.RoomTypeSpace
	name := "Meetings"
	topic := "Microsoft Teams meeting chats"
	members := &bridgev2.ChatMemberList{MemberMap: bridgev2.ChatMemberMap{}}
	if isSelf(owner, c.meta.MRI) {
		members.MemberMap.Add(bridgev2.ChatMember{EventSender: c.sender(c.meta.MRI), Membership: event.MembershipJoin})
	}
	return &bridgev2.ChatInfo{Type: &space, Name: &name, Topic: &topic, Members: members, CanBackfill: false}
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
// out) and the last one who is not the user. The user is always among them:
// every thread the bridge is asked about is one they are in, and a room
// created from a list that leaves them out would not invite them, so its
// first encrypted messages would reach none of their devices.
//
// The list is full (bridgev2 then removes everyone it does not name) only
// when the thread's member list is authoritative: present, naming the user,
// and as long as the thread's own member count says. A thread read without
// members, or with a roster cut short, must never empty a room on a resync.
func (c *Client) threadMembers(th *chatsvc.Thread) (*bridgev2.ChatMemberList, string) {
	members := &bridgev2.ChatMemberList{MemberMap: bridgev2.ChatMemberMap{}}
	var other string
	listsSelf := false
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
			cm.UserInfo = &bridgev2.UserInfo{Name: &name, ExtraUpdates: lookUpPictureLater}
		}
		if cm.IsFromMe {
			listsSelf = true
		} else {
			other = mri
		}
		members.MemberMap.Set(cm)
	}
	members.MemberMap.Add(bridgev2.ChatMember{EventSender: c.sender(c.meta.MRI), Membership: event.MembershipJoin})
	members.IsFull = th.Members != nil && listsSelf && !rosterCutShort(th)
	if !members.IsFull {
		c.log.Debug().Str("conversation", th.ID).Int("listed", len(th.Members)).Bool("lists_user", listsSelf).
			Msg("Thread member list is not authoritative; nobody will be removed from the room")
	}
	return members, other
}

// rosterCutShort reports a thread whose membercount property counts more
// members than its member list holds (a partial read of a large roster).
func rosterCutShort(th *chatsvc.Thread) bool {
	n, err := strconv.Atoi(strings.TrimSpace(th.Properties.Get("membercount")))
	return err == nil && n > len(th.Members)
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
	if isMeetingChat(th) {
		parent := meetingsSpaceID(c.meta.MRI)
		info.ParentID = &parent
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

// GetUserInfo reads a person's profile and picture from the middle tier.
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
	info.Avatar = c.ghostAvatar(ctx, ghost, mri, gm.Name)
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
		ID:         "fi.imbridge.teams.capabilities.2026_12_01b",
		Formatting: event.FormattingFeatureMap{event.FmtBold: event.CapLevelFullySupported, event.FmtItalic: event.CapLevelFullySupported, event.FmtStrikethrough: event.CapLevelFullySupported, event.FmtInlineCode: event.CapLevelFullySupported, event.FmtCodeBlock: event.CapLevelFullySupported, event.FmtBlockquote: event.CapLevelFullySupported, event.FmtUnorderedList: event.CapLevelFullySupported, event.FmtOrderedList: event.CapLevelFullySupported, event.FmtInlineLink: event.CapLevelFullySupported, event.FmtUserLink: event.CapLevelFullySupported},
		File: event.FileFeatureMap{
			event.MsgImage: {MimeTypes: map[string]event.CapabilitySupportLevel{"image/*": event.CapLevelFullySupported}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			// Files go to AMS; work clients see them as a link.
			event.MsgFile:  {MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.MsgVideo: {MimeTypes: map[string]event.CapabilitySupportLevel{"video/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			event.MsgAudio: {MimeTypes: map[string]event.CapabilitySupportLevel{"audio/*": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
			// Voice messages go as AMS audio (media.go), GIFs as AMS
			// images or, when a client sends them as looping videos, videos.
			event.CapMsgVoice:   {MimeTypes: map[string]event.CapabilitySupportLevel{"audio/*": event.CapLevelFullySupported}, Caption: event.CapLevelDropped, MaxSize: 100 << 20},
			event.CapMsgGIF:     {MimeTypes: map[string]event.CapabilitySupportLevel{"image/gif": event.CapLevelFullySupported, "video/mp4": event.CapLevelPartialSupport}, Caption: event.CapLevelFullySupported, MaxSize: 100 << 20},
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
