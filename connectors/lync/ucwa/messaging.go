package ucwa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

func linkOf(l Links, rel, what string) (string, error) {
	href := l.Href(rel)
	if href == "" {
		return "", fmt.Errorf("%w: %s.%s", ErrNoLink, what, rel)
	}
	return href, nil
}

// Accept accepts an incoming invitation. The accept href is used as given:
// servers may add a sessionContext parameter to it.
func (c *Client) Accept(ctx context.Context, inv *MessagingInvitation) error {
	return c.accept(ctx, inv.Links, "messagingInvitation")
}

// AcceptOnlineMeeting accepts an incoming online meeting invitation: the
// conversation becomes Conferenced, and messaging stays Disconnected until
// AddMessaging.
func (c *Client) AcceptOnlineMeeting(ctx context.Context, inv *OnlineMeetingInvitation) error {
	return c.accept(ctx, inv.Links, "onlineMeetingInvitation")
}

func (c *Client) accept(ctx context.Context, l Links, what string) error {
	href, err := linkOf(l, "accept", what)
	if err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	if _, err := c.postEmpty(ctx, href); err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	return nil
}

// Decline rejects an incoming invitation for this application only
// ("Local"); pass "Global" to decline on all the user's endpoints.
func (c *Client) Decline(ctx context.Context, inv *MessagingInvitation, reason string) error {
	return c.decline(ctx, inv.Links, "messagingInvitation", reason)
}

// DeclineOnlineMeeting rejects an incoming online meeting invitation; the
// reason is as for Decline.
func (c *Client) DeclineOnlineMeeting(ctx context.Context, inv *OnlineMeetingInvitation, reason string) error {
	return c.decline(ctx, inv.Links, "onlineMeetingInvitation", reason)
}

func (c *Client) decline(ctx context.Context, l Links, what, reason string) error {
	href, err := linkOf(l, "decline", what)
	if err != nil {
		return fmt.Errorf("decline invitation: %w", err)
	}
	if reason == "" {
		reason = "Local"
	}
	if _, err := c.postJSON(ctx, href, map[string]string{"reason": reason}); err != nil {
		return fmt.Errorf("decline invitation: %w", err)
	}
	return nil
}

// Cancel withdraws an outgoing invitation that is still connecting.
func (c *Client) Cancel(ctx context.Context, inv *MessagingInvitation) error {
	href, err := linkOf(inv.Links, "cancel", "messagingInvitation")
	if err != nil {
		return fmt.Errorf("cancel invitation: %w", err)
	}
	if _, err := c.postEmpty(ctx, href); err != nil {
		return fmt.Errorf("cancel invitation: %w", err)
	}
	return nil
}

// StartMessagingRequest starts a conversation.
type StartMessagingRequest struct {
	To          string // SIP URI, required
	Subject     string
	Importance  string // Normal, Urgent or Emergency
	OperationID string // echoed in events, for correlation
	ThreadID    string // continue an earlier thread
	Message     string // optional first message
	HTML        bool   // Message is HTML
}

// StartMessaging invites someone to chat and returns the href of the
// outgoing invitation (its Location). Progress arrives as events.
func (c *Client) StartMessaging(ctx context.Context, req StartMessagingRequest) (string, error) {
	if req.To == "" {
		return "", fmt.Errorf("start messaging: recipient is required")
	}
	comm, err := c.communication(ctx)
	if err != nil {
		return "", fmt.Errorf("start messaging: %w", err)
	}
	href, err := linkOf(comm.Links, "startMessaging", "communication")
	if err != nil {
		return "", fmt.Errorf("start messaging: %w", err)
	}
	body := map[string]any{"to": req.To}
	for k, v := range map[string]string{"subject": req.Subject, "importance": req.Importance, "operationId": req.OperationID, "threadId": req.ThreadID} {
		if v != "" {
			body[k] = v
		}
	}
	if req.Message != "" {
		body["_links"] = map[string]any{"message": Link{Href: messageDataURL(req.Message, req.HTML)}}
	}
	resp, err := c.postJSON(ctx, href, body)
	if err != nil {
		return "", fmt.Errorf("start messaging: %w", err)
	}
	return resp.header.Get("Location"), nil
}

func messageDataURL(text string, html bool) string {
	if html {
		return EncodeDataURL("text/html", text)
	}
	return EncodeDataURL("text/plain", text)
}

// communication returns the embedded communication resource of the
// application.
func (c *Client) communication(ctx context.Context) (*Communication, error) {
	app := c.Application()
	if app == nil {
		return nil, ErrNoApplication
	}
	comm, err := appResource[Communication](ctx, c, app, "communication")
	if err == nil {
		return comm, nil
	}
	if app, err = c.RefreshApplication(ctx); err != nil {
		return nil, err
	}
	return appResource[Communication](ctx, c, app, "communication")
}

// SendMessage posts text into a connected conversation using the
// messaging resource's sendMessage link and returns the new message's href.
// operationID is passed as the OperationContext parameter and comes back in
// the Outgoing message event.
func (c *Client) SendMessage(ctx context.Context, m *Messaging, text string, html bool, operationID string) (string, error) {
	href, err := linkOf(m.Links, "sendMessage", "messaging")
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	ct := "text/plain; charset=utf-8"
	if html {
		ct = "text/html; charset=utf-8"
	}
	var q url.Values
	if operationID != "" {
		q = url.Values{"OperationContext": {operationID}}
	}
	resp, err := c.call(ctx, request{method: http.MethodPost, href: href, query: q, body: []byte(text), contentType: ct})
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	return resp.header.Get("Location"), nil
}

// SetIsTyping signals that the user is typing; repeat every few seconds
// while typing continues.
func (c *Client) SetIsTyping(ctx context.Context, m *Messaging) error {
	href, err := linkOf(m.Links, "setIsTyping", "messaging")
	if err != nil {
		return fmt.Errorf("set typing: %w", err)
	}
	if _, err := c.postEmpty(ctx, href); err != nil {
		return fmt.Errorf("set typing: %w", err)
	}
	return nil
}

// StopMessaging leaves the conversation's messaging.
func (c *Client) StopMessaging(ctx context.Context, m *Messaging) error {
	href, err := linkOf(m.Links, "stopMessaging", "messaging")
	if err != nil {
		return fmt.Errorf("stop messaging: %w", err)
	}
	if _, err := c.postEmpty(ctx, href); err != nil {
		return fmt.Errorf("stop messaging: %w", err)
	}
	return nil
}

// AddMessaging re-opens messaging in a conversation whose messaging is
// Disconnected, or joins the IM of a Conferenced conversation (after
// AcceptOnlineMeeting); text may be empty. It returns the href of the new
// outgoing invitation.
func (c *Client) AddMessaging(ctx context.Context, m *Messaging, text string, html bool, operationID string) (string, error) {
	href, err := linkOf(m.Links, "addMessaging", "messaging")
	if err != nil {
		return "", fmt.Errorf("add messaging: %w", err)
	}
	body := map[string]any{}
	if operationID != "" {
		body["operationId"] = operationID
	}
	if text != "" {
		body["_links"] = map[string]any{"message": Link{Href: messageDataURL(text, html)}}
	}
	resp, err := c.postJSON(ctx, href, body)
	if err != nil {
		return "", fmt.Errorf("add messaging: %w", err)
	}
	return resp.header.Get("Location"), nil
}

// AddParticipant invites someone into an existing conversation, turning a
// chat into a group chat. Returns the participant invitation href.
func (c *Client) AddParticipant(ctx context.Context, conv *Conversation, to, operationID string) (string, error) {
	href, err := linkOf(conv.Links, "addParticipant", "conversation")
	if err != nil {
		return "", fmt.Errorf("add participant: %w", err)
	}
	body := map[string]string{"to": to}
	if operationID != "" {
		body["operationId"] = operationID
	}
	resp, err := c.postJSON(ctx, href, body)
	if err != nil {
		return "", fmt.Errorf("add participant: %w", err)
	}
	return resp.header.Get("Location"), nil
}

// OnlineMeetingInvitation reads an online meeting invitation.
func (c *Client) OnlineMeetingInvitation(ctx context.Context, href string) (*OnlineMeetingInvitation, error) {
	var v OnlineMeetingInvitation
	if err := c.getJSON(ctx, href, &v); err != nil {
		return nil, fmt.Errorf("get invitation: %w", err)
	}
	return &v, nil
}

// Invitation reads a messaging invitation.
func (c *Client) Invitation(ctx context.Context, href string) (*MessagingInvitation, error) {
	var v MessagingInvitation
	if err := c.getJSON(ctx, href, &v); err != nil {
		return nil, fmt.Errorf("get invitation: %w", err)
	}
	return &v, nil
}

// Conversation reads a conversation.
func (c *Client) Conversation(ctx context.Context, href string) (*Conversation, error) {
	var v Conversation
	if err := c.getJSON(ctx, href, &v); err != nil {
		return nil, fmt.Errorf("get conversation: %w", err)
	}
	return &v, nil
}

// Messaging reads a conversation's messaging resource.
func (c *Client) Messaging(ctx context.Context, href string) (*Messaging, error) {
	var v Messaging
	if err := c.getJSON(ctx, href, &v); err != nil {
		return nil, fmt.Errorf("get messaging: %w", err)
	}
	return &v, nil
}

// Conversations lists the application's active conversations.
func (c *Client) Conversations(ctx context.Context) ([]Conversation, error) {
	comm, err := c.communication(ctx)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	href, err := linkOf(comm.Links, "conversations", "communication")
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out, err := collection[Conversation](ctx, c, href, "conversation")
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return out, nil
}

// Participants lists the participants of a conversation.
func (c *Client) Participants(ctx context.Context, conv *Conversation) ([]Participant, error) {
	href, err := linkOf(conv.Links, "participants", "conversation")
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	out, err := collection[Participant](ctx, c, href, "participant")
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	return out, nil
}

// collection reads a collection resource; members are taken from
// _embedded when present, otherwise each linked member is fetched.
func collection[T any](ctx context.Context, c *Client, href, rel string) ([]T, error) {
	var res Resource
	if err := c.getJSON(ctx, href, &res); err != nil {
		return nil, err
	}
	if _, ok := res.Embedded[rel]; ok {
		return embeddedList[T](res.Embedded, rel)
	}
	out := make([]T, 0, len(res.Links[rel]))
	for _, l := range res.Links[rel] {
		var v T
		if err := c.getJSON(ctx, l.Href, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// EventMessage returns the message an event announces: the embedded one,
// or, when the server sent the event without _embedded (which clients
// must handle), the message read from the event's link.
func (c *Client) EventMessage(ctx context.Context, ev *Event) (*Message, error) {
	m, err := ev.Message()
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, ErrNotEmbedded) {
		return nil, err
	}
	var v Message
	if err := c.getJSON(ctx, ev.Link.Href, &v); err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return &v, nil
}
