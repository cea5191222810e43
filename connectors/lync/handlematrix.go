package lync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// HandleMatrixMessage accepts a Matrix message for delivery and returns at
// once with it pending (see outbound.go); the message is then shown as sent
// when Skype for Business confirms it, or as failed with the reason.
func (c *Client) HandleMatrixMessage(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return nil, err
	}
	if msg.Content.MsgType == event.MsgNotice {
		// Refused whether or not the session is up.
		return nil, c.refuseNotice(ctx, msg.Portal, msg.Event)
	}
	if !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	switch {
	case isMedia(msg.Content.MsgType) || msg.Content.MsgType == event.MsgLocation:
	case strings.TrimSpace(msg.Content.Body) == "":
		c.roomNotice(ctx, msg.Portal, "An empty message cannot be sent to Skype for Business.")
		return nil, bridgev2.WrapErrorInStatus(errors.New("empty message")).WithErrorReason(event.MessageStatusUnsupported).WithIsCertain(true)
	}
	text, html, notice := c.outgoingText(ctx, msg)
	if strings.TrimSpace(text) == "" {
		c.roomNotice(ctx, msg.Portal, "An empty message cannot be sent to Skype for Business.")
		return nil, bridgev2.WrapErrorInStatus(errors.New("empty message")).WithErrorReason(event.MessageStatusUnsupported).WithIsCertain(true)
	}
	resp := c.enqueue(ctx, msg, text, html)
	if notice != "" {
		c.roomNotice(ctx, msg.Portal, notice)
	}
	return resp, nil
}

func isMedia(t event.MessageType) bool {
	switch t {
	case event.MsgImage, event.MsgFile, event.MsgVideo, event.MsgAudio:
		return true
	}
	return false
}

// deliver sends text into the portal's live conversation, or starts one,
// and returns the Lync ID of the delivered message.
func (c *Client) deliver(ctx context.Context, portal *bridgev2.Portal, text, html, opID string) (string, error) {
	lc := c.conv.forPortal(portal.ID)
	if lc != nil && !c.conv.isLive(lc) {
		// An accepted invitation or our own still connecting: wait for it.
		select {
		case <-lc.connected:
		case <-ctx.Done():
			return "", notConfirmed("the conversation to connect")
		}
		if !c.conv.isLive(lc) {
			lc = nil
		}
	}
	if lc != nil {
		return c.sendInConversation(ctx, lc, text, html, opID)
	}
	return c.startConversation(ctx, portal, text, opID)
}

func (c *Client) sendInConversation(ctx context.Context, lc *liveConv, text, html, opID string) (string, error) {
	c.conv.mu.Lock()
	messaging := lc.messaging
	useHTML := html != "" && messaging != nil && hasFormat(messaging.NegotiatedMessageFormats, "Html")
	c.conv.mu.Unlock()
	body := text
	if useHTML {
		body = html
	}
	result := c.conv.addOp(opID)
	defer c.conv.dropOp(opID)
	var href string
	err := c.retrySend(ctx, "sendMessage", func() (err error) {
		href, err = c.api.SendMessage(ctx, messaging, body, useHTML, opID)
		return err
	})
	if err != nil {
		c.conn.Env.Metrics.RemoteAPIError("lync", "sendMessage", statusOf(err))
		return "", sendFailure(fmt.Errorf("send message: %w", err), "Skype for Business did not take the message")
	}
	c.conv.locate(opID, href)
	if _, err = c.awaitResult(ctx, result, "the message"); err != nil {
		return "", err
	}
	if href == "" {
		href = lc.href + "#op-" + opID
	}
	return href, nil
}

// startConversation opens a new conversation with the message as its
// first. An invitation nobody answers in time is withdrawn, so a message
// shown as failed cannot arrive later.
func (c *Client) startConversation(ctx context.Context, portal *bridgev2.Portal, text, opID string) (string, error) {
	sip, threadID, err := portalTarget(portal.ID)
	if err != nil {
		return "", err
	}
	if sip == "" {
		return "", bridgev2.WrapErrorInStatus(fmt.Errorf("group thread %s has no live conversation", threadID)).
			WithErrorReason(event.MessageStatusGenericError).WithIsCertain(true).WithSendNotice(true).
			WithMessage("This Skype for Business group conversation has ended; group chats cannot be restarted from Matrix.")
	}
	result := c.conv.addOp(opID)
	defer c.conv.dropOp(opID)
	var href string
	err = c.retrySend(ctx, "startMessaging", func() (err error) {
		href, err = c.api.StartMessaging(ctx, ucwa.StartMessagingRequest{To: "sip:" + sip, OperationID: opID, Message: text})
		return err
	})
	if err != nil {
		c.conn.Env.Metrics.RemoteAPIError("lync", "startMessaging", statusOf(err))
		return "", sendFailure(fmt.Errorf("start conversation: %w", err), "Skype for Business did not start the chat")
	}
	c.conv.locate(opID, href)
	res, err := c.awaitResult(ctx, result, "the chat invitation")
	if errors.Is(err, errNotConfirmed) {
		c.withdraw(href)
		return "", bridgev2.WrapErrorInStatus(err).WithErrorReason(event.MessageStatusNetworkError).
			WithIsCertain(true).WithSendNotice(true).
			WithMessage("Not delivered: " + c.displayName(sip) + " did not answer in time, so the chat invitation was withdrawn.")
	}
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

// withdraw cancels an outgoing invitation that is still connecting.
func (c *Client) withdraw(href string) {
	if href == "" {
		return
	}
	ctx, cancel := context.WithTimeout(c.log.WithContext(context.Background()), c.conn.acceptTimeout())
	defer cancel()
	inv, err := c.api.Invitation(ctx, href)
	if err == nil {
		err = c.api.Cancel(ctx, inv)
	}
	if err != nil {
		c.log.Warn().Err(err).Str("href", href).Msg("Could not withdraw an unanswered chat invitation")
	}
}

func (c *Client) displayName(sip string) string {
	if name := c.conv.nameOf(sip); name != "" {
		return name
	}
	return sip
}

var errNotConfirmed = errors.New("no delivery report in time")

func notConfirmed(what string) error {
	return bridgev2.WrapErrorInStatus(fmt.Errorf("%w for %s", errNotConfirmed, what)).
		WithErrorReason(event.MessageStatusNetworkError).WithSendNotice(true).
		WithMessage("Skype for Business did not confirm delivery in time")
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
	case <-ctx.Done():
		return opResult{}, notConfirmed(what)
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
// bridge serves public media, else a note saying what was sent; a location
// becomes its description, coordinates and a map link (as for Teams and
// Skype). notice, when set, tells the Matrix
// user what became of it.
func (c *Client) outgoingText(ctx context.Context, msg *bridgev2.MatrixMessage) (text, html, notice string) {
	content := msg.Content
	switch content.MsgType {
	case event.MsgImage, event.MsgFile, event.MsgVideo, event.MsgAudio:
		return c.mediaText(ctx, msg)
	case event.MsgLocation:
		return msgfmt.LocationText(content), "", "Skype for Business chats cannot show locations: it was sent as text."
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
	return text, html, ""
}

func (c *Client) mediaText(ctx context.Context, msg *bridgev2.MatrixMessage) (text, html, notice string) {
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
	if pm, ok := c.conn.Env.Bridge.Matrix.(bridgev2.MatrixConnectorWithPublicMedia); ok {
		if link, err := pm.GetPublicMediaAddressForEvent(ctx, content); err == nil && link != "" {
			return fmt.Sprintf("%s[%s: %s] %s", caption, kind, name, link), "",
				fmt.Sprintf("Skype for Business chats cannot carry files: %s was sent as a link.", name)
		}
	}
	size := ""
	if content.Info != nil && content.Info.Size > 0 {
		size = fmt.Sprintf(", %d kB", (content.Info.Size+1023)/1024)
	}
	return fmt.Sprintf("%s[sent %s (%s%s) from Matrix; Skype for Business chats cannot carry files]", caption, kind, name, size), "",
		fmt.Sprintf("Skype for Business chats cannot carry files: %s was not sent, only a note saying you sent it.", name)
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
