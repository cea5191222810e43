package skype

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// GetChatInfo describes a conversation: a 1:1 by the other person's MRI,
// a group thread by its members and topic.
func (c *Client) GetChatInfo(ctx context.Context, portal *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
	if err := c.CheckPortal(portal); err != nil {
		return nil, err
	}
	conv := native(portal)
	if chatsvc.IsOneToOne(conv, nil) {
		return c.dmInfo(conv), nil
	}
	th, err := c.api.Thread(ctx, conv)
	if err != nil {
		return nil, fmt.Errorf("read Skype group %s: %w", conv, err)
	}
	return c.threadInfo(th), nil
}

func (c *Client) dmInfo(other string) *bridgev2.ChatInfo {
	other = strings.ToLower(other)
	dm := database.RoomTypeDM
	members := &bridgev2.ChatMemberList{
		IsFull: true, OtherUserID: ghostID(other), MemberMap: bridgev2.ChatMemberMap{},
	}
	// The user's invite must say is_direct, or Element shows a plain room.
	members.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(c.selfMRI()), Membership: event.MembershipJoin,
		MemberEventExtra: map[string]any{"is_direct": true}})
	if other != c.selfMRI() {
		members.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(other), Membership: event.MembershipJoin})
	}
	return &bridgev2.ChatInfo{Type: &dm, Members: members, CanBackfill: true}
}

func (c *Client) threadInfo(th *chatsvc.Thread) *bridgev2.ChatInfo {
	group := database.RoomTypeDefault
	topic := th.Topic()
	// Only a thread answer that lists members says who is in the group: one
	// without (cut short, or a variant that leaves it out) must not make a
	// resync remove everyone but the user.
	members := &bridgev2.ChatMemberList{IsFull: len(th.Members) > 0, MemberMap: bridgev2.ChatMemberMap{}}
	if !members.IsFull {
		c.log.Warn().Str("thread", th.ID).Msg("Skype thread answer without members; keeping the room's members as they are")
	}
	for _, m := range th.Members {
		if m.ID == "" {
			continue // a member entry naming nobody
		}
		pl := 0
		if strings.EqualFold(m.Role, "admin") {
			pl = 50
		}
		members.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(m.ID), Membership: event.MembershipJoin, PowerLevel: &pl})
	}
	// The user is in every chat the bridge is asked about. A member list
	// that leaves them out must not create the room without inviting them:
	// its first encrypted messages would be shared with none of their
	// devices (the same failure Lync had with its participant shapes).
	members.MemberMap.Add(bridgev2.ChatMember{EventSender: c.sender(c.selfMRI()), Membership: event.MembershipJoin})
	// Any member of a Skype group may rename it and add people, unless the
	// group is moderated; the portal's power levels say the same, so the
	// user can do from Matrix what Skype lets them do.
	memberLevel := 0
	if strings.EqualFold(th.Properties.Get("moderatedthread"), "true") {
		memberLevel = 50
	}
	members.PowerLevels = &bridgev2.PowerLevelOverrides{
		Events: map[event.Type]int{event.StateRoomName: memberLevel},
		Invite: &memberLevel,
	}
	info := &bridgev2.ChatInfo{Type: &group, Members: members, CanBackfill: true}
	if topic != "" {
		info.Name = &topic
	}
	info.Avatar = c.groupAvatar(th.Properties.Get("picture"))
	return info
}

// groupAvatar is a group's picture property ("URL@<ASM object URL>") as a
// room avatar, so a new group's invite shows it. The object is fetched
// through the ASM client, which sends the token only to the ASM hosts.
// A thread answer without the property leaves the avatar as it is.
func (c *Client) groupAvatar(picture string) *bridgev2.Avatar {
	picture = strings.TrimSpace(picture)
	if picture == "" {
		return nil
	}
	u, ok := strings.CutPrefix(picture, "URL@")
	if !ok || !strings.Contains(u, "/v1/objects/") {
		c.log.Debug().Str("picture", picture).Msg("Skype group picture is not an ASM object; not bridged")
		return nil
	}
	return &bridgev2.Avatar{ID: ids.AvatarID(ids.Skype, u), Get: func(ctx context.Context) ([]byte, error) {
		return c.api.Download(ctx, u, "avatar_fullsize")
	}}
}

// GetUserInfo names a ghost from the contact list, else from the profile
// lookup, with the avatar the service lists.
func (c *Client) GetUserInfo(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.UserInfo, error) {
	mri, err := ids.Parse(ids.Skype, string(ghost.ID))
	if err != nil {
		return nil, err
	}
	name, avatar := "", ""
	if contacts, err := c.api.Contacts(ctx); err == nil {
		for _, ct := range contacts {
			if strings.EqualFold(ct.MRI, mri) {
				name, avatar = ct.Name(), ct.Profile.AvatarURL
			}
		}
	} else {
		c.log.Debug().Err(err).Msg("Cannot list Skype contacts for a ghost's name")
	}
	if name == "" {
		if profiles, err := c.api.Profiles(ctx, mri); err == nil && len(profiles) > 0 {
			name, avatar = profiles[0].Name(), profiles[0].AvatarURL
		} else if err != nil {
			c.log.Debug().Err(err).Str("mri", mri).Msg("Cannot look up a Skype profile")
		}
	}
	if name == "" {
		name = strings.TrimPrefix(mri, "8:")
	}
	identifiers := []string{ids.QualifyIdentifier(ids.Skype, strings.TrimPrefix(mri, "8:"))}
	info := &bridgev2.UserInfo{Name: &name, Identifiers: identifiers}
	if avatar != "" {
		info.Avatar = &bridgev2.Avatar{ID: ids.AvatarID(ids.Skype, avatar), Get: func(ctx context.Context) ([]byte, error) {
			return c.fetchAvatar(ctx, avatar)
		}}
	}
	return info, nil
}

// fetchAvatar downloads a profile picture; avatars are public, so no
// token goes with the request.
func (c *Client) fetchAvatar(ctx context.Context, url string) ([]byte, error) {
	if !strings.HasPrefix(url, "https://") && !(c.conn.Config.AllowInsecureHTTP && strings.HasPrefix(url, "http://")) {
		return nil, fmt.Errorf("refusing avatar URL %q", url)
	}
	hc := c.conn.apiConfig().HTTPClient
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download avatar: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download avatar: HTTP %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 10<<20))
}

// GetCapabilities says what Skype rooms support.
func (c *Client) GetCapabilities(ctx context.Context, portal *bridgev2.Portal) *event.RoomFeatures {
	return &event.RoomFeatures{
		ID: "fi.imbridge.skype.capabilities.v2",
		Formatting: event.FormattingFeatureMap{
			event.FmtBold: event.CapLevelFullySupported, event.FmtItalic: event.CapLevelFullySupported,
			event.FmtStrikethrough: event.CapLevelFullySupported, event.FmtInlineCode: event.CapLevelPartialSupport,
			event.FmtCodeBlock: event.CapLevelFullySupported, event.FmtInlineLink: event.CapLevelFullySupported,
			event.FmtUserLink: event.CapLevelFullySupported, event.FmtBlockquote: event.CapLevelPartialSupport,
		},
		File: event.FileFeatureMap{
			event.MsgImage: {MimeTypes: map[string]event.CapabilitySupportLevel{"image/*": event.CapLevelFullySupported}, Caption: event.CapLevelDropped, MaxSize: 100 << 20},
			event.MsgFile:  {MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelFullySupported}, Caption: event.CapLevelDropped, MaxSize: 300 << 20},
			event.MsgVideo: {MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelFullySupported}, Caption: event.CapLevelDropped, MaxSize: 300 << 20},
			event.MsgAudio: {MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelFullySupported}, Caption: event.CapLevelDropped, MaxSize: 300 << 20},
			// A sticker goes as a picture.
			event.CapMsgSticker: {MimeTypes: map[string]event.CapabilitySupportLevel{"image/*": event.CapLevelPartialSupport}, MaxSize: 100 << 20},
		},
		// Sent as text: the description, coordinates and a map link.
		LocationMessage:     event.CapLevelPartialSupport,
		MaxTextLength:       28000,
		Reply:               event.CapLevelPartialSupport,
		Edit:                event.CapLevelFullySupported,
		Delete:              event.CapLevelFullySupported,
		Reaction:            event.CapLevelRejected, // Skype's web chat API has none
		ReadReceipts:        true,
		TypingNotifications: true,
	}
}
