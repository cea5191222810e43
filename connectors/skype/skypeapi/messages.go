package skypeapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Message types a Skype client sends.
const (
	TypeText     = "Text"
	TypeRichText = "RichText"
	TypeImage    = "RichText/UriObject"
	TypeFile     = "RichText/Media_GenericFile"
)

// Outgoing is a message to send.
type Outgoing struct {
	// ClientMessageID makes retries idempotent; generated when empty. Keep it
	// to recognise the echo.
	ClientMessageID string
	MessageType     string // default RichText
	Content         string
	DisplayName     string
	// Emote sends a /me action: Content is prefixed with DisplayName.
	Emote         bool
	AMSReferences []string
	// EmoteOffset marks Content as an already prefixed /me message (what
	// msgfmt.FromMatrix returns); Emote is then ignored.
	EmoteOffset int
	// HasMentions, when set, is sent as Has-Mentions (a converter that knows
	// what it wrote says so); nil derives it from Content's <at> tags.
	HasMentions *bool
}

func (m Outgoing) hasMentions() string {
	if m.HasMentions != nil {
		return strconv.FormatBool(*m.HasMentions)
	}
	return strconv.FormatBool(chatsvc.HasSkypeMentions(m.Content))
}

// Send posts a message. The skpy-style clientmessageid is a decimal
// millisecond-ish number; 429/5xx retries reuse it.
func (c *Client) Send(ctx context.Context, conv string, m Outgoing) (*chatsvc.SendResult, error) {
	if m.ClientMessageID == "" {
		m.ClientMessageID = chatsvc.NewClientMessageID()
	}
	out := chatsvc.Outgoing{ClientMessageID: m.ClientMessageID, MessageType: firstNonEmpty(m.MessageType, TypeRichText),
		Content: m.Content, DisplayName: m.DisplayName, AMSReferences: m.AMSReferences,
		Fields: map[string]any{"Has-Mentions": m.hasMentions()}}
	if m.EmoteOffset > 0 {
		out.EmoteOffset = m.EmoteOffset
	} else if m.Emote && m.DisplayName != "" {
		out.Content = m.DisplayName + " " + m.Content
		out.EmoteOffset = len(m.DisplayName) + 1
	}
	var res *chatsvc.SendResult
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		res, err = chat.Send(ctx, conv, out)
		return err
	})
	return res, err
}

// Edit replaces the content of one of the user's messages by server id
// (the PUT API).
// Message reads one message of a conversation (for an event whose
// resource could not be read: its resourceLink names the message).
func (c *Client) Message(ctx context.Context, conv, id string) (*chatsvc.Message, error) {
	var m *chatsvc.Message
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		m, err = chat.Message(ctx, conv, id)
		return err
	})
	return m, err
}

func (c *Client) Edit(ctx context.Context, conv, id, content string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error {
		return chat.Edit(ctx, conv, id, chatsvc.Outgoing{MessageType: TypeRichText, Content: content,
			Fields: map[string]any{"Has-Mentions": strconv.FormatBool(chatsvc.HasSkypeMentions(content))}})
	})
}

// EditOutgoing is Edit with the send-side fields of m (Has-Mentions, emote).
func (c *Client) EditOutgoing(ctx context.Context, conv, id string, m Outgoing) error {
	out := chatsvc.Outgoing{MessageType: firstNonEmpty(m.MessageType, TypeRichText), Content: m.Content,
		Fields: map[string]any{"Has-Mentions": m.hasMentions()}}
	if m.EmoteOffset > 0 {
		out.EmoteOffset = m.EmoteOffset
	} else if m.Emote && m.DisplayName != "" {
		out.Content = m.DisplayName + " " + m.Content
		out.EmoteOffset = len(m.DisplayName) + 1
	}
	return c.Do(ctx, func(chat *chatsvc.Client) error { return chat.Edit(ctx, conv, id, out) })
}

// Delete deletes one of the user's messages by server id.
func (c *Client) Delete(ctx context.Context, conv, id string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error { return chat.Delete(ctx, conv, id) })
}

// LegacyEdit edits (or with empty content deletes) through the pre-2019
// form: a new message whose skypeeditedid is the original clientmessageid.
func (c *Client) LegacyEdit(ctx context.Context, conv, originalClientID, content string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error {
		_, err := chat.Send(ctx, conv, chatsvc.Outgoing{ClientMessageID: chatsvc.NewClientMessageID(), MessageType: TypeRichText,
			Content: content, SkypeEditedID: originalClientID})
		return err
	})
}

// Typing shows (or with stop clears) the typing indicator, in the Skype
// client's form: a Control/Typing message with contenttype text and a
// clientmessageid. Resend about every 5 s while typing.
func (c *Client) Typing(ctx context.Context, conv string, stop bool) error {
	mtype := "Control/Typing"
	if stop {
		mtype = "Control/ClearTyping"
	}
	return c.Do(ctx, func(chat *chatsvc.Client) error {
		_, err := chat.Send(ctx, conv, chatsvc.Outgoing{MessageType: mtype, Content: ""})
		if errors.Is(err, chatsvc.ErrMalformedResponse) {
			return nil // accepted; a typing answer need not name a message
		}
		return err
	})
}

// MarkRead moves the read marker to a message the way skpy does:
// "<clientmessageid>;<now ms>;<clientmessageid>" (the server id when the
// clientmessageid is unknown).
func (c *Client) MarkRead(ctx context.Context, conv, clientMessageID string, at time.Time) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error {
		return chat.SetConsumptionHorizon(ctx, conv, chatsvc.Horizon{MessageID: clientMessageID, Time: at, Third: clientMessageID})
	})
}

// ReadMarkers lists every member's read position in a group thread.
func (c *Client) ReadMarkers(ctx context.Context, thread string) ([]chatsvc.MemberHorizon, error) {
	var out []chatsvc.MemberHorizon
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		out, err = chat.ConsumptionHorizons(ctx, thread)
		return err
	})
	return out, err
}

// SkypeTargetTypes is the conversation filter of the Skype web client.
const SkypeTargetTypes = "Passport|Skype|Lync|Thread|Agent|ShortCircuit|PSTN|Flxt|NotificationStream|ModernBots|secureThreads|InviteFree"

// Conversations lists one page of conversations (newest first; SyncState
// continues).
func (c *Client) Conversations(ctx context.Context, q chatsvc.ConversationsQuery) (*chatsvc.ConversationPage, error) {
	if q.TargetTypes == "" {
		q.TargetTypes = SkypeTargetTypes
	}
	var page *chatsvc.ConversationPage
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		page, err = chat.Conversations(ctx, q)
		return err
	})
	return page, err
}

// AllConversations walks the syncState pages (max 0 = all).
func (c *Client) AllConversations(ctx context.Context, since time.Time, max int) ([]chatsvc.Conversation, error) {
	var out []chatsvc.Conversation
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		out, err = chat.AllConversations(ctx, chatsvc.ConversationsQuery{StartTime: since, TargetTypes: SkypeTargetTypes}, max)
		return err
	})
	return out, err
}

// History returns up to limit messages before `before` (zero = newest), newest first.
func (c *Client) History(ctx context.Context, conv string, before time.Time, limit int) ([]chatsvc.Message, error) {
	var out []chatsvc.Message
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		out, err = chat.History(ctx, conv, before, limit)
		return err
	})
	return out, err
}

// MessagesSince returns the messages after since, oldest first (catch-up).
func (c *Client) MessagesSince(ctx context.Context, conv string, since time.Time) ([]chatsvc.Message, error) {
	var out []chatsvc.Message
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		out, err = chat.MessagesSince(ctx, conv, since, 30)
		return err
	})
	return out, err
}

// CreateGroup creates a group thread with the user as admin and returns its id.
func (c *Client) CreateGroup(ctx context.Context, topic string, members ...string) (string, error) {
	var id string
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		id, err = chat.CreateThread(ctx, chatsvc.NewThread{Self: c.MRI(), Members: members, Topic: topic, MemberRole: "User",
			Properties: map[string]any{"moderatedthread": false}})
		return err
	})
	return id, err
}

// Thread fetches a group thread with its members.
func (c *Client) Thread(ctx context.Context, id string) (*chatsvc.Thread, error) {
	var t *chatsvc.Thread
	err := c.Do(ctx, func(chat *chatsvc.Client) error {
		var err error
		t, err = chat.Thread(ctx, id)
		return err
	})
	return t, err
}

// AddMember adds a member (role "User" or "Admin").
func (c *Client) AddMember(ctx context.Context, thread, mri, role string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error { return chat.AddMember(ctx, thread, mri, role) })
}

// RemoveMember removes a member (the user itself = leave).
func (c *Client) RemoveMember(ctx context.Context, thread, mri string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error { return chat.RemoveMember(ctx, thread, mri) })
}

// SetTopic renames a group.
func (c *Client) SetTopic(ctx context.Context, thread, topic string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error { return chat.SetTopic(ctx, thread, topic) })
}

// SetPresence sets the user's availability (Online, Busy, Away, Idle, Hidden).
func (c *Client) SetPresence(ctx context.Context, status string) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error { return chat.SetPresence(ctx, status) })
}

// SubscribePresence opts in to the presence events of contacts.
func (c *Client) SubscribePresence(ctx context.Context, contacts []string) error {
	res := append([]string(nil), chatsvc.DefaultInterestedResources...)
	for _, mri := range contacts {
		if !strings.Contains(mri, ":") {
			mri = "8:" + mri
		}
		res = append(res, "/v1/users/ME/contacts/"+mri)
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	return c.Do(ctx, func(chat *chatsvc.Client) error {
		return chat.SetInterestedResources(ctx, c.Registration().EndpointID, res)
	})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
