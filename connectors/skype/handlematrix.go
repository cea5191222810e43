package skype

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

// splitMsgID is msgID's inverse: the conversation and either the
// clientmessageid or the server id.
func splitMsgID(id networkid.MessageID) (conv, clientID, serverID string, ok bool) {
	n, err := ids.Parse(ids.Skype, string(id))
	if err != nil {
		return "", "", "", false
	}
	i := strings.LastIndex(n, "/")
	if i < 0 {
		return "", "", "", false
	}
	conv, rest := n[:i], n[i+1:]
	if s, isServer := strings.CutPrefix(rest, "id:"); isServer {
		return conv, "", s, true
	}
	return conv, rest, "", true
}

// serverIDOf is the server id of a bridged message: from its metadata, or
// from its ID when Skype gave no clientmessageid.
func serverIDOf(m *database.Message) string {
	if pm, err := messageMeta.Get(m.Metadata); err == nil && pm.ServerID != "" {
		return pm.ServerID
	}
	_, _, sid, _ := splitMsgID(m.ID)
	return sid
}

func (c *Client) ready(portal *bridgev2.Portal) (string, error) {
	if err := c.CheckPortal(portal); err != nil {
		return "", err
	}
	if c.api == nil || !c.IsLoggedIn() {
		return "", bridgev2.WrapErrorInStatus(errors.New("not connected to Skype")).WithErrorAsMessage().WithIsCertain(true).WithSendNotice(true)
	}
	return native(portal), nil
}

// sendFailure says why Skype refused a send, in the message's failure status.
func sendFailure(err error, what string) error {
	reason := err.Error()
	switch {
	case errors.Is(err, chatsvc.ErrRateLimited):
		reason = "Skype is rate limiting this account; try again in a minute"
	case errors.Is(err, skypeapi.ErrTokenRejected), errors.Is(err, chatsvc.ErrUnauthorized):
		reason = "the Skype sign-in expired"
	case errors.Is(err, chatsvc.ErrForbidden):
		reason = "Skype refused it: " + reason
	}
	return bridgev2.WrapErrorInStatus(fmt.Errorf("%s: %w", what, err)).WithMessage(what + " failed: " + reason).WithIsCertain(true).WithSendNotice(true)
}

func (c *Client) senderName() string {
	return firstNonEmpty(c.Login.RemoteProfile.Name, c.meta.UserID)
}

// outgoingText converts Matrix content with msgfmt; a reply becomes a
// Skype quote of the replied-to message.
func (c *Client) outgoingText(ctx context.Context, portal *bridgev2.Portal, content *event.MessageEventContent, replyTo *database.Message) skypeapi.Outgoing {
	opts := msgfmt.OutboundOptions{SenderName: c.senderName()}
	if replyTo != nil {
		opts.Reply = c.quoteOf(ctx, portal, replyTo)
	}
	out := msgfmt.FromMatrix(ctx, content, msgfmt.Skype, c.mentionFormatter(), opts)
	if isNotice(content) {
		out.Content = markNotice(out.Content)
	}
	has := len(out.Mentions) > 0 || out.MentionsEveryone
	return skypeapi.Outgoing{MessageType: firstNonEmpty(out.MessageType, skypeapi.TypeRichText), Content: out.Content,
		DisplayName: c.senderName(), EmoteOffset: out.EmoteOffset, HasMentions: &has}
}

// noticeMarker starts the text of an m.notice sent to Skype. Skype has no
// notices; a bot's output (or a user's /notice) still goes out, so the
// conversation is complete, but marked so Skype users can tell it apart
// from something the person typed.
const noticeMarker = "ℹ️ "

func isNotice(content *event.MessageEventContent) bool {
	if content.NewContent != nil {
		return content.NewContent.MsgType == event.MsgNotice
	}
	return content.MsgType == event.MsgNotice
}

// markNotice puts the marker in front of the text, after a leading quote
// (a reply's), which Skype shows above the text.
func markNotice(content string) string {
	if strings.HasPrefix(content, "<quote") {
		if i := strings.Index(content, "</quote>"); i >= 0 {
			i += len("</quote>")
			return content[:i] + noticeMarker + content[i:]
		}
	}
	return noticeMarker + content
}

func (c *Client) quoteOf(ctx context.Context, portal *bridgev2.Portal, target *database.Message) *msgfmt.Quote {
	conv, cid, sid, _ := splitMsgID(target.ID)
	q := &msgfmt.Quote{MessageID: firstNonEmpty(cid, sid, serverIDOf(target)), Conversation: conv, Time: target.Timestamp}
	if mri, err := ids.Parse(ids.Skype, string(target.SenderID)); err == nil {
		q.AuthorID = mri
		if g, err := c.conn.Env.Bridge.GetExistingGhostByID(ctx, target.SenderID); err == nil && g != nil {
			q.AuthorName = g.Name
		}
	}
	if evt, err := c.conn.Env.Bridge.Bot.GetEvent(ctx, portal.MXID, target.MXID); err == nil && evt != nil {
		_ = evt.Content.ParseRaw(evt.Type)
		if mc := evt.Content.AsMessage(); mc != nil {
			q.Text = mc.Body
		}
	}
	return q
}

// HandleMatrixMessage prepares a message and hands it to the outbox
// (outbox.go), returning it pending: the portal is not held while Skype
// takes it. It stays pending until Skype's echo (matched by
// clientmessageid) arrives; the chat-service client retries 429/5xx with
// the same clientmessageid, so a retry cannot double it.
func (c *Client) HandleMatrixMessage(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return nil, err
	}
	// Before the connection check: a copy of a message already settled
	// needs no connection.
	done, left, err := c.redelivered(ctx, msg)
	if done != nil || err != nil {
		return done, err
	}
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return nil, err
	}
	cmid, written := chatsvc.NewClientMessageID(), time.Now()
	if left != nil {
		// An earlier run's send: the same clientmessageid, so Skype
		// cannot take it twice, and its first time, for the deadline.
		cmid, written = left.cmid, left.note.written()
	}
	job := &sendJob{conv: conv, msg: msg, txn: networkid.TransactionID(cmid), cmid: cmid, what: "Sending the message", written: written,
		note: newNote(msg, conv, written), resend: left != nil}
	switch msg.Content.MsgType {
	case event.MsgImage, event.MsgFile, event.MsgVideo, event.MsgAudio, event.CapMsgSticker:
		job.what = "Sending the file"
		job.build = func(ctx context.Context) (skypeapi.Outgoing, error) { return c.outgoingMedia(ctx, conv, msg) }
	case event.MsgLocation:
		// Skype has no locations: the place goes as text with a map link.
		text := &event.MessageEventContent{MsgType: event.MsgText, Body: msgfmt.LocationText(msg.Content)}
		out := c.outgoingText(ctx, msg.Portal, text, msg.ReplyTo)
		job.build = func(context.Context) (skypeapi.Outgoing, error) { return out, nil }
	default:
		if strings.TrimSpace(msg.Content.Body) == "" && strings.TrimSpace(msgfmt.HTMLToPlain(msg.Content.FormattedBody)) == "" {
			return nil, bridgev2.WrapErrorInStatus(errors.New("empty message")).WithErrorReason(event.MessageStatusUnsupported).
				WithIsCertain(true).WithSendNotice(true).WithMessage("Not sent to Skype: the message has no text (only white space)")
		}
		out := c.outgoingText(ctx, msg.Portal, msg.Content, msg.ReplyTo)
		job.build = func(context.Context) (skypeapi.Outgoing, error) { return out, nil }
	}
	dbMsg := &database.Message{ID: msgID(conv, cmid, ""), SenderID: ghostID(c.selfMRI()), Timestamp: job.written,
		Metadata: messageMeta.Wrap(&MessageMetadata{})}
	if err = c.noteSent(ctx, cmid, job.note); err != nil {
		return nil, err
	}
	msg.AddPendingToSave(dbMsg, job.txn, c.echoSaved(cmid))
	c.enqueue(job)
	return &bridgev2.MatrixMessageResponse{DB: dbMsg, Pending: true}, nil
}

// outgoingMedia uploads a Matrix file to ASM, readable by the
// conversation's members, and returns the URIObject message.
func (c *Client) outgoingMedia(ctx context.Context, conv string, msg *bridgev2.MatrixMessage) (skypeapi.Outgoing, error) {
	content := msg.Content
	data, err := c.conn.Env.Bridge.Bot.DownloadMedia(ctx, content.URL, content.File)
	if err != nil {
		return skypeapi.Outgoing{}, fmt.Errorf("download from Matrix: %w", err)
	}
	name := firstNonEmpty(content.FileName, content.Body, "file")
	readers := []string{c.selfMRI()}
	if chatsvc.IsOneToOne(conv, nil) {
		readers = append(readers, conv)
	} else if th, err := c.api.Thread(ctx, conv); err == nil {
		readers = readers[:0]
		for _, m := range th.Members {
			readers = append(readers, m.ID)
		}
	} else {
		return skypeapi.Outgoing{}, fmt.Errorf("read the group's members: %w", err)
	}
	image := content.MsgType == event.MsgImage || content.MsgType == event.CapMsgSticker
	typ := skypeapi.ASMFile
	if image {
		typ = skypeapi.ASMImage
	}
	objID, uri, err := c.api.Upload(ctx, typ, name, data, readers)
	if err != nil {
		return skypeapi.Outgoing{}, err
	}
	no := false
	if image {
		return skypeapi.Outgoing{MessageType: skypeapi.TypeImage, Content: chatsvc.ImageURIObject(uri, objID, name, int64(len(data))),
			AMSReferences: []string{objID}, DisplayName: c.senderName(), HasMentions: &no}, nil
	}
	return skypeapi.Outgoing{MessageType: skypeapi.TypeFile, Content: chatsvc.FileURIObject(uri, objID, name, int64(len(data))),
		AMSReferences: []string{objID}, DisplayName: c.senderName(), HasMentions: &no}, nil
}

// HandleMatrixEdit edits by server id (PUT); the echo of the edit is
// recognised and not applied again.
func (c *Client) HandleMatrixEdit(ctx context.Context, msg *bridgev2.MatrixEdit) error {
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return err
	}
	out := c.outgoingText(ctx, msg.Portal, msg.Content, nil)
	target := msg.EditTarget
	c.addOwnEdit(target.ID)
	if sid := serverIDOf(target); sid != "" {
		err = c.api.EditOutgoing(ctx, conv, sid, out)
	} else {
		_, cid, _, _ := splitMsgID(target.ID)
		err = c.api.LegacyEdit(ctx, conv, cid, out.Content)
	}
	if err != nil {
		c.dropOwnEdit(target.ID)
		return sendFailure(err, "Editing the message")
	}
	return nil
}

// HandleMatrixMessageRemove deletes a message on Skype.
func (c *Client) HandleMatrixMessageRemove(ctx context.Context, msg *bridgev2.MatrixMessageRemove) error {
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return err
	}
	target := msg.TargetMessage
	c.addOwnEdit(target.ID)
	if sid := serverIDOf(target); sid != "" {
		err = c.api.Delete(ctx, conv, sid)
	} else {
		_, cid, _, _ := splitMsgID(target.ID)
		err = c.api.LegacyEdit(ctx, conv, cid, "")
	}
	if err != nil {
		c.dropOwnEdit(target.ID)
		return sendFailure(err, "Deleting the message")
	}
	return nil
}

// HandleMatrixTyping shows or clears the typing indicator.
func (c *Client) HandleMatrixTyping(ctx context.Context, msg *bridgev2.MatrixTyping) error {
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return err
	}
	return c.api.Typing(ctx, conv, !msg.IsTyping)
}

// HandleMatrixReadReceipt moves the consumption horizon to the message read.
func (c *Client) HandleMatrixReadReceipt(ctx context.Context, msg *bridgev2.MatrixReadReceipt) error {
	conv, err := c.ready(msg.Portal)
	if err != nil {
		return err
	}
	target := msg.ExactMessage
	if target == nil {
		if target, err = c.conn.Env.Bridge.DB.Message.GetLastPartAtOrBeforeTime(ctx, msg.Portal.PortalKey, msg.ReadUpTo); err != nil || target == nil {
			return err
		}
	}
	_, cid, sid, ok := splitMsgID(target.ID)
	if !ok {
		return nil
	}
	return c.api.MarkRead(ctx, conv, firstNonEmpty(cid, sid), time.Now())
}

var _ bridgev2.ReactionHandlingNetworkAPI = (*Client)(nil)

// Skype's web chat API has no reactions (skype-web.md). Element does not
// show com.beeper.room_features, and bridgev2 refuses a reaction without a
// word, so a reaction gets a visible notice in the room and stays on the
// Matrix side.

// PreHandleMatrixReaction refuses the reaction with a notice in the room.
func (c *Client) PreHandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (bridgev2.MatrixReactionPreResponse, error) {
	what := "reaction"
	if msg.Content != nil && msg.Content.RelatesTo.Key != "" {
		what += " " + msg.Content.RelatesTo.Key
	}
	c.log.Info().Stringer("event_id", msg.Event.ID).Msg("Not sending a Matrix reaction: Skype has none")
	c.roomNotice(ctx, msg.Portal, fmt.Sprintf("Skype chats have no reactions: your %s was not sent to Skype.", what))
	return bridgev2.MatrixReactionPreResponse{}, bridgev2.ErrReactionsNotSupported
}

func (c *Client) HandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (*database.Reaction, error) {
	return nil, bridgev2.ErrReactionsNotSupported
}

func (c *Client) HandleMatrixReactionRemove(ctx context.Context, msg *bridgev2.MatrixReactionRemove) error {
	return bridgev2.ErrReactionsNotSupported
}

// roomNotice posts a notice from the bridge bot into a portal room.
func (c *Client) roomNotice(ctx context.Context, portal *bridgev2.Portal, text string) {
	bridgekit.RoomNotice(ctx, c.conn.Env.Bridge, portal, &c.log, text)
}
