package lync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/metrics"
)

// HandleMatrixMessage sends a Matrix message into the live conversation of
// the portal, or starts one. It returns once the server confirmed delivery
// (so Element shows the message as sent) or failed it (shown as failed, with
// the reason). bridgev2 handles a portal's events one at a time, so messages
// typed while a conversation is connecting wait their turn, in order.
func (c *Client) HandleMatrixMessage(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return nil, err
	}
	if !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	start := time.Now()
	text, html := c.outgoingText(ctx, msg)
	if strings.TrimSpace(text) == "" {
		return nil, bridgev2.WrapErrorInStatus(errors.New("empty message")).WithErrorReason(event.MessageStatusUnsupported).WithIsCertain(true)
	}
	remoteID, err := c.deliver(ctx, msg.Portal, text, html)
	if err != nil {
		return nil, err
	}
	c.conn.env.Metrics.MessageBridged("lync", metrics.ToRemote, time.Since(start))
	return &bridgev2.MatrixMessageResponse{DB: &database.Message{
		ID:        ids.MessageID(ids.Lync, remoteID),
		SenderID:  ids.UserID(ids.Lync, c.meta.SIP),
		Timestamp: time.Now(),
	}}, nil
}

func (c *Client) deliver(ctx context.Context, portal *bridgev2.Portal, text, html string) (string, error) {
	lc := c.conv.forPortal(portal.ID)
	if lc != nil && !c.conv.isLive(lc) {
		// An accepted invitation or our own still connecting: wait for it.
		select {
		case <-lc.connected:
		case <-time.After(c.conn.deliveryTimeout()):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if !c.conv.isLive(lc) {
			lc = nil
		}
	}
	if lc != nil {
		return c.sendInConversation(ctx, lc, text, html)
	}
	return c.startConversation(ctx, portal, text)
}

func (c *Client) sendInConversation(ctx context.Context, lc *liveConv, text, html string) (string, error) {
	c.conv.mu.Lock()
	messaging := lc.messaging
	useHTML := html != "" && messaging != nil && hasFormat(messaging.NegotiatedMessageFormats, "Html")
	c.conv.mu.Unlock()
	body := text
	if useHTML {
		body = html
	}
	opID := newGUID()
	result := c.conv.addOp(opID)
	defer c.conv.dropOp(opID)
	href, err := c.api.SendMessage(ctx, messaging, body, useHTML, opID)
	if err != nil {
		c.conn.env.Metrics.RemoteAPIError("lync", "sendMessage", statusOf(err))
		return "", sendFailure(fmt.Errorf("send message: %w", err), "Skype for Business did not take the message")
	}
	if err = c.awaitOp(ctx, result, "the message"); err != nil {
		return "", err
	}
	return href, nil
}

// startConversation opens a new conversation with the message as its first.
func (c *Client) startConversation(ctx context.Context, portal *bridgev2.Portal, text string) (string, error) {
	sip, threadID, err := portalTarget(portal.ID)
	if err != nil {
		return "", err
	}
	if sip == "" {
		return "", bridgev2.WrapErrorInStatus(fmt.Errorf("group thread %s has no live conversation", threadID)).
			WithErrorReason(event.MessageStatusGenericError).WithIsCertain(true).WithSendNotice(true).
			WithMessage("This Skype for Business group conversation has ended; group chats cannot be restarted from Matrix.")
	}
	opID := newGUID()
	result := c.conv.addOp(opID)
	defer c.conv.dropOp(opID)
	href, err := c.api.StartMessaging(ctx, ucwa.StartMessagingRequest{To: "sip:" + sip, OperationID: opID, Message: text})
	if err != nil {
		c.conn.env.Metrics.RemoteAPIError("lync", "startMessaging", statusOf(err))
		return "", sendFailure(fmt.Errorf("start conversation: %w", err), "Skype for Business did not start the chat")
	}
	res, err := c.awaitResult(ctx, result, "the chat invitation")
	if err != nil {
		return "", err
	}
	if res.convRef != "" {
		c.conv.mu.Lock()
		lc := c.conv.conv(res.convRef)
		lc.remote = sip
		c.conv.bind(lc, portal.PortalKey)
		c.conv.mu.Unlock()
	}
	return href + "#message", nil
}

func (c *Client) awaitOp(ctx context.Context, ch chan opResult, what string) error {
	_, err := c.awaitResult(ctx, ch, what)
	return err
}

func (c *Client) awaitResult(ctx context.Context, ch chan opResult, what string) (opResult, error) {
	select {
	case res := <-ch:
		if !res.ok {
			why := describeFailure(res.reason)
			return res, bridgev2.WrapErrorInStatus(fmt.Errorf("%s failed: %s", what, why)).
				WithErrorReason(event.MessageStatusNetworkError).WithIsCertain(true).WithSendNotice(true).
				WithMessage("Not delivered: " + why)
		}
		return res, nil
	case <-time.After(c.conn.deliveryTimeout()):
		return opResult{}, bridgev2.WrapErrorInStatus(fmt.Errorf("no delivery report for %s", what)).
			WithErrorReason(event.MessageStatusNetworkError).WithSendNotice(true).
			WithMessage("Skype for Business did not confirm delivery in time")
	case <-ctx.Done():
		return opResult{}, ctx.Err()
	}
}

func sendFailure(err error, message string) error {
	return bridgev2.WrapErrorInStatus(err).WithErrorReason(event.MessageStatusNetworkError).WithSendNotice(true).WithMessage(message)
}

func hasFormat(formats []string, want string) bool {
	for _, f := range formats {
		if strings.EqualFold(f, want) {
			return true
		}
	}
	return false
}

// outgoingText renders a Matrix message as UCWA text (and HTML when it has
// formatting). Media cannot travel over UCWA IM: it becomes a link when the
// bridge serves public media, else a notice saying what was sent.
func (c *Client) outgoingText(ctx context.Context, msg *bridgev2.MatrixMessage) (text, html string) {
	content := msg.Content
	switch content.MsgType {
	case event.MsgImage, event.MsgFile, event.MsgVideo, event.MsgAudio:
		return c.mediaText(ctx, msg), ""
	case event.MsgEmote:
		text = "* " + content.Body
	default:
		text = content.Body
	}
	if content.Format == event.FormatHTML && content.FormattedBody != "" {
		html = msgfmt.SanitizeHTML(content.FormattedBody)
		if content.MsgType == event.MsgEmote {
			html = "* " + html
		}
	}
	return text, html
}

func (c *Client) mediaText(ctx context.Context, msg *bridgev2.MatrixMessage) string {
	content := msg.Content
	name := content.FileName
	if name == "" {
		name = content.Body
	}
	kind := map[event.MessageType]string{event.MsgImage: "an image", event.MsgVideo: "a video", event.MsgAudio: "an audio clip"}[content.MsgType]
	if kind == "" {
		kind = "a file"
	}
	caption := ""
	if content.FileName != "" && content.Body != "" && content.Body != content.FileName {
		caption = content.Body + "\n"
	}
	if pm, ok := c.conn.env.Bridge.Matrix.(bridgev2.MatrixConnectorWithPublicMedia); ok {
		if link, err := pm.GetPublicMediaAddressForEvent(ctx, content); err == nil && link != "" {
			return fmt.Sprintf("%s[%s: %s] %s", caption, kind, name, link)
		}
	}
	size := ""
	if content.Info != nil && content.Info.Size > 0 {
		size = fmt.Sprintf(", %d kB", (content.Info.Size+1023)/1024)
	}
	return fmt.Sprintf("%s[sent %s (%s%s) from Matrix; Skype for Business chats cannot carry files]", caption, kind, name, size)
}

// HandleMatrixTyping forwards typing into a connected conversation, repeating
// it while the user types, as Lync clients do.
func (c *Client) HandleMatrixTyping(ctx context.Context, msg *bridgev2.MatrixTyping) error {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return err
	}
	c.typing.set(msg.Portal.ID, msg.IsTyping, func(ctx context.Context) error {
		lc := c.conv.forPortal(msg.Portal.ID)
		if lc == nil || !c.conv.isLive(lc) {
			return nil
		}
		c.conv.mu.Lock()
		m := lc.messaging
		c.conv.mu.Unlock()
		return c.api.SetIsTyping(ctx, m)
	})
	return nil
}
