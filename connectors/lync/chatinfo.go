package lync

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// portalTarget says what a portal is: a 1:1 chat with sip, or a group thread.
func portalTarget(id networkid.PortalID) (sip, threadID string, err error) {
	native, err := ids.Parse(ids.Lync, string(id))
	if err != nil {
		return "", "", err
	}
	if t, ok := strings.CutPrefix(native, groupPrefix); ok {
		return "", t, nil
	}
	return native, "", nil
}

func (c *Client) GetChatInfo(ctx context.Context, portal *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
	if err := c.CheckPortal(portal); err != nil {
		return nil, err
	}
	sip, _, err := portalTarget(portal.ID)
	if err != nil {
		return nil, err
	}
	me := bridgev2.ChatMember{
		EventSender: bridgev2.EventSender{IsFromMe: true, Sender: ids.UserID(ids.Lync, c.meta.SIP)},
		UserInfo:    &bridgev2.UserInfo{Name: nonEmpty(c.Login.RemoteProfile.Name), Identifiers: []string{"sip:" + c.meta.SIP}},
	}
	if sip != "" {
		ghost := ids.UserID(ids.Lync, sip)
		dm := database.RoomTypeDM
		// Synapse gets the user invited after the room exists; without
		// is_direct on that invite Element shows it as a plain room.
		me.MemberEventExtra = map[string]any{"is_direct": true}
		return &bridgev2.ChatInfo{
			Type: &dm,
			Members: &bridgev2.ChatMemberList{IsFull: true, OtherUserID: ghost, MemberMap: bridgev2.ChatMemberMap{
				ghost:     {EventSender: bridgev2.EventSender{Sender: ghost}, UserInfo: c.userInfo(ctx, sip, true)},
				me.Sender: me,
			}},
		}, nil
	}
	// Members and name are only returned when the server just said what
	// they are: a resync of an idle group (no live conversation, or a
	// failed read) must not empty the room or rename it.
	group := database.RoomTypeGroupDM
	info := &bridgev2.ChatInfo{Type: &group}
	lc := c.conv.forPortal(portal.ID)
	if portal.MXID == "" {
		// A new room needs some name; a subject read below replaces it.
		info.Name = ptrTo("Skype for Business group chat")
		// And it needs the user in it before its first message: bridgev2
		// invites only the members it is given, and the bridge's crypto
		// shares the first room key with the members invited by then, so
		// a room created without the user would keep its first messages
		// from every one of the user's devices (issue 7 item 15). If the
		// server cannot list the participants now, the room starts with
		// the user and whoever sent the first message; the others join as
		// they write, or at a resync that can read the participants.
		info.Members = c.partialGroupMembers(ctx, lc, me)
	}
	if lc == nil || !c.loggedIn.Load() {
		return info, nil
	}
	conv, err := c.api.Conversation(ctx, lc.href)
	if err != nil {
		c.log.Warn().Err(err).Bool("new_room", portal.MXID == "").Msg("Cannot read a group conversation; leaving its room as it is")
		return info, nil
	}
	if conv.Subject != "" {
		info.Name = &conv.Subject
	}
	parts, err := c.api.Participants(ctx, conv)
	if err != nil {
		c.log.Warn().Err(err).Bool("new_room", portal.MXID == "").Msg("Cannot list a group's participants; leaving its members as they are")
		return info, nil
	}
	members := bridgev2.ChatMemberMap{me.Sender: me}
	for i := range parts {
		p := &parts[i]
		if c.isLocalParticipant(p) || p.URI == "" {
			continue
		}
		psip := normalizeSIP(p.URI)
		if _, isMe := members[ids.UserID(ids.Lync, psip)]; isMe {
			// However the server marks the user, they stay the user: a
			// ghost in their place would leave them out of the room.
			continue
		}
		members[ids.UserID(ids.Lync, psip)] = bridgev2.ChatMember{
			EventSender: bridgev2.EventSender{Sender: ids.UserID(ids.Lync, psip)},
			UserInfo:    &bridgev2.UserInfo{Name: nonEmpty(p.Name)},
		}
	}
	info.Members = &bridgev2.ChatMemberList{IsFull: true, MemberMap: members}
	return info, nil
}

func ptrTo[T any](v T) *T { return &v }

// partialGroupMembers is the member list of a new group room whose
// participants are not known: the user, and the sender of the first
// message if the invitation carried one. It is not full, so nobody is
// removed for missing from it.
func (c *Client) partialGroupMembers(ctx context.Context, lc *liveConv, me bridgev2.ChatMember) *bridgev2.ChatMemberList {
	members := bridgev2.ChatMemberMap{me.Sender: me}
	if lc != nil {
		if fm := c.loadFirst(ctx, lc); fm != nil && fm.SIP != "" && fm.SIP != c.meta.SIP {
			sender := ids.UserID(ids.Lync, fm.SIP)
			members[sender] = bridgev2.ChatMember{EventSender: bridgev2.EventSender{Sender: sender}, UserInfo: c.userInfo(ctx, fm.SIP, false)}
		}
	}
	return &bridgev2.ChatMemberList{MemberMap: members}
}

func (c *Client) GetUserInfo(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.UserInfo, error) {
	sip, err := ids.Parse(ids.Lync, string(ghost.ID))
	if err != nil {
		return nil, err
	}
	info := c.userInfo(ctx, sip, true)
	if info.Name == nil {
		if meta, err := protocol.Meta[GhostMetadata](ids.Lync, ghost.Metadata); err == nil && meta.Name != "" {
			info.Name = &meta.Name
		}
	} else if meta, err := protocol.Meta[GhostMetadata](ids.Lync, ghost.Metadata); err == nil {
		meta.Name = *info.Name
	}
	return info, nil
}

// userInfo describes a colleague from what the event channel told us and,
// when lookup is set, from the directory (name and photo).
func (c *Client) userInfo(ctx context.Context, sip string, lookup bool) *bridgev2.UserInfo {
	info := &bridgev2.UserInfo{Identifiers: []string{"sip:" + sip}, Name: nonEmpty(c.conv.nameOf(sip))}
	if !lookup || c.api == nil || !c.loggedIn.Load() {
		return info
	}
	contact := c.findContact(ctx, sip)
	if contact == nil {
		return info
	}
	if info.Name == nil {
		info.Name = nonEmpty(contact.Name)
	}
	if href := contact.Links.Href("contactPhoto"); href != "" {
		info.Avatar = &bridgev2.Avatar{
			ID: ids.AvatarID(ids.Lync, "photo:"+sip),
			Get: func(ctx context.Context) ([]byte, error) {
				data, _, err := c.api.Photo(ctx, href)
				return data, err
			},
		}
	}
	return info
}

// findContact looks a SIP address up in the directory.
func (c *Client) findContact(ctx context.Context, sip string) *ucwa.Contact {
	found, err := c.api.Search(ctx, sip, 5)
	if err != nil {
		c.log.Debug().Err(err).Str("sip", sip).Msg("Directory search failed")
		return nil
	}
	for i := range found {
		if normalizeSIP(found[i].URI) == sip {
			return &found[i]
		}
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// GetCapabilities tells Matrix clients what a Lync chat can carry: text with
// basic formatting and typing; files become a link or a notice; there are no
// edits, deletions, reactions or receipts in UCWA.
func (c *Client) GetCapabilities(ctx context.Context, portal *bridgev2.Portal) *event.RoomFeatures {
	asText := map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelPartialSupport}
	file := func() *event.FileFeatures {
		return &event.FileFeatures{MimeTypes: asText, Caption: event.CapLevelPartialSupport}
	}
	return &event.RoomFeatures{
		ID: "fi.imbridge.lync.capabilities.v1",
		Formatting: event.FormattingFeatureMap{
			event.FmtBold: event.CapLevelFullySupported, event.FmtItalic: event.CapLevelFullySupported,
			event.FmtUnderline: event.CapLevelFullySupported, event.FmtStrikethrough: event.CapLevelFullySupported,
			event.FmtInlineLink: event.CapLevelFullySupported, event.FmtInlineCode: event.CapLevelPartialSupport,
			event.FmtCodeBlock: event.CapLevelPartialSupport, event.FmtUnorderedList: event.CapLevelPartialSupport,
			event.FmtOrderedList: event.CapLevelPartialSupport, event.FmtBlockquote: event.CapLevelPartialSupport,
		},
		File: event.FileFeatureMap{
			event.MsgImage: file(), event.MsgFile: file(), event.MsgVideo: file(), event.MsgAudio: file(),
			event.CapMsgVoice: file(), event.CapMsgGIF: file(), event.CapMsgSticker: file(),
		},
		MaxTextLength:   8000,
		LocationMessage: event.CapLevelPartialSupport, // sent as text

		Reply:               event.CapLevelDropped,
		Thread:              event.CapLevelDropped,
		Edit:                event.CapLevelPartialSupport, // a new IM marked as a correction
		Delete:              event.CapLevelRejected,
		Reaction:            event.CapLevelRejected,
		TypingNotifications: true,
	}
}

func describeFailure(reason *ucwa.ErrorInfo) string {
	if reason == nil {
		return "the server gave no reason"
	}
	switch reason.Subcode {
	case "Declined":
		return "the recipient declined the chat"
	case "Timeout":
		return "the recipient did not answer"
	case "DestinationNotFound":
		return "no such recipient"
	case "Unreachable", "Offline", "TemporarilyUnavailable":
		return "the recipient is offline or unreachable"
	case "DoNotDisturb":
		return "the recipient is set to Do Not Disturb"
	case "Busy":
		return "the recipient is busy"
	}
	if reason.Message != "" {
		return fmt.Sprintf("%s (%s)", reason.Message, reason.Subcode)
	}
	return reason.Code + "/" + reason.Subcode
}
