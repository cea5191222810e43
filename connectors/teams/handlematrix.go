package teams

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
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// typingRepeat is how often a continuing Matrix typing notice is repeated.
const typingRepeat = 10 * time.Second

func (c *Client) readyChat(portal *bridgev2.Portal) (*chatsvc.Client, error) {
	if err := c.CheckPortal(portal); err != nil {
		return nil, err
	}
	// The push channel may be reconnecting; REST sends still work.
	chat := c.chatClient()
	if chat == nil || !c.IsLoggedIn() {
		return nil, bridgev2.ErrNotLoggedIn
	}
	return chat, nil
}

// sendFailure is a failed send shown in Matrix with the service's reason.
func sendFailure(err error, what string) error {
	reason := "Teams did not take the " + what
	var se *chatsvc.Error
	switch {
	case errors.Is(err, chatsvc.ErrRateLimited):
		reason += ": Teams is rate limiting, try again later"
	case errors.Is(err, chatsvc.ErrForbidden):
		reason += ": not allowed"
	case errors.Is(err, chatsvc.ErrNotFound):
		reason += ": the chat or message no longer exists"
	case errors.As(err, &se) && se.Message != "":
		reason += ": " + se.Message
	}
	return bridgev2.WrapErrorInStatus(err).WithErrorReason(event.MessageStatusNetworkError).WithSendNotice(true).WithMessage(reason)
}

// HandleMatrixMessage checks a Matrix message and queues it for Teams
// (outbox.go), returning it pending: the portal is not held while Teams
// throttles the send. The pending entry is keyed by the clientmessageid;
// the message's id in Teams (its row's id) is known only from Teams'
// answer or echo, whichever comes first.
func (c *Client) HandleMatrixMessage(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	if _, err := c.readyChat(msg.Portal); err != nil {
		return nil, err
	}
	content := msg.Content
	what := "message"
	switch content.MsgType {
	case event.MsgImage, event.MsgFile, event.MsgVideo, event.MsgAudio, event.CapMsgSticker:
		what = "file"
	case event.MsgLocation:
	default:
		if strings.TrimSpace(content.Body) == "" && strings.TrimSpace(msgfmt.HTMLToPlain(content.FormattedBody)) == "" {
			return nil, bridgev2.WrapErrorInStatus(errors.New("empty message")).WithErrorReason(event.MessageStatusUnsupported).
				WithIsCertain(true).WithSendNotice(true).WithMessage("Not sent to Teams: the message has no text (only white space)")
		}
	}
	chat := native(msg.Portal)
	conv := chat
	if msg.ThreadRoot != nil && isChannel(conv) {
		// A reply in a channel's Matrix thread goes into the reply chain.
		if root, err := ids.Parse(ids.Teams, string(msg.ThreadRoot.ID)); err == nil {
			conv = chatsvc.ReplyChainID(conv, root)
		}
	}
	out := chatsvc.Outgoing{ClientMessageID: chatsvc.NewClientMessageID(), MessageType: "RichText/Html", DisplayName: c.Login.RemoteProfile.Name}
	job := &sendJob{chat: chat, conv: conv, msg: msg, txn: networkid.TransactionID(out.ClientMessageID), out: out, what: what,
		written: time.Now(), prepare: func(ctx context.Context, out *chatsvc.Outgoing) error { return c.prepareMessage(ctx, msg, out) }}
	if err := c.enqueue(ctx, job); err != nil {
		return nil, bridgev2.WrapErrorInStatus(err).WithErrorReason(event.MessageStatusGenericError).WithSendNotice(true)
	}
	return &bridgev2.MatrixMessageResponse{Pending: true}, nil
}

// prepareMessage makes the Teams message of a Matrix one: the reply block
// (its preview is read from Teams), the converted text, a file's upload.
// It runs in the outbox, not the portal, as it talks to Teams.
func (c *Client) prepareMessage(ctx context.Context, msg *bridgev2.MatrixMessage, out *chatsvc.Outgoing) error {
	content := msg.Content
	var reply *msgfmt.Quote
	if msg.ReplyTo != nil {
		reply = c.replyQuote(ctx, msg.ReplyTo)
	}
	switch content.MsgType {
	case event.MsgImage, event.MsgFile, event.MsgVideo, event.MsgAudio, event.CapMsgSticker:
		if err := c.attachMedia(ctx, msg, out); err != nil {
			return err
		}
		if reply != nil {
			out.Content = msgfmt.TeamsReplyHTML(*reply) + out.Content
		}
	case event.MsgLocation:
		// Teams has no locations: the place goes as text with a map link.
		text := &event.MessageEventContent{MsgType: event.MsgText, Body: msgfmt.LocationText(content)}
		conv := c.fromMatrix(ctx, text, reply)
		out.Content, out.Mentions = conv.html, conv.mentions
	default:
		conv := c.fromMatrix(ctx, markNotice(content), reply)
		out.Content, out.Mentions = conv.html, conv.mentions
	}
	return nil
}

// replyQuote is the Teams message a Matrix reply answers.
func (c *Client) replyQuote(ctx context.Context, target *database.Message) *msgfmt.Quote {
	msgID, err := ids.Parse(ids.Teams, string(target.ID))
	if err != nil {
		return nil
	}
	author, _ := ids.Parse(ids.Teams, string(target.SenderID))
	name := ""
	if g, err := c.conn.Env.Bridge.GetExistingGhostByID(ctx, target.SenderID); err == nil && g != nil {
		name = g.Name
	}
	if isSelf(author, c.meta.MRI) {
		name = c.Login.RemoteProfile.Name
	}
	// The reply block shows a preview of the quoted text: read it from
	// Teams, where it is what the other members see.
	preview := ""
	if chat := c.chatClient(); chat != nil {
		conv, _ := ids.Parse(ids.Teams, string(target.Room.ID))
		if m, err := chat.Message(ctx, conv, msgID); err == nil {
			preview = msgfmt.HTMLToPlain(msgfmt.SanitizeHTML(m.Content))
		} else {
			c.log.Debug().Err(err).Str("message_id", msgID).Msg("No preview for a reply")
		}
	}
	return &msgfmt.Quote{MessageID: msgID, AuthorID: author, AuthorName: name, Text: preview, Time: target.Timestamp}
}

// attachMedia uploads a Matrix file to AMS and makes the message show it.
func (c *Client) attachMedia(ctx context.Context, msg *bridgev2.MatrixMessage, out *chatsvc.Outgoing) error {
	content := msg.Content
	data, err := c.conn.Env.Bridge.Bot.DownloadMedia(ctx, content.URL, content.File)
	if err != nil {
		return bridgev2.WrapErrorInStatus(fmt.Errorf("download from Matrix: %w", err)).WithErrorReason(event.MessageStatusGenericError).WithSendNotice(true)
	}
	name := content.FileName
	if name == "" {
		name = content.Body
	}
	mime := "application/octet-stream"
	if content.Info != nil && content.Info.MimeType != "" {
		mime = content.Info.MimeType
	}
	kind := amsKind(content.MsgType)
	objectID, err := c.auth.Files().Upload(ctx, kind, name, mime, []string{native(msg.Portal)}, data)
	if err != nil {
		return sendFailure(fmt.Errorf("upload to AMS: %w", err), "file")
	}
	base, err := c.amsBase(ctx)
	if err != nil {
		return sendFailure(err, "file")
	}
	caption := ""
	if content.FileName != "" && content.Body != "" && content.Body != content.FileName {
		caption = c.fromMatrix(ctx, content, nil).html
	}
	switch {
	case kind == teamsapi.AMSImage:
		out.Content = teamsapi.ImageHTML(base, objectID) + caption
	case kind == teamsapi.AMSVideo || kind == teamsapi.AMSAudio:
		out.MessageType, out.Content = c.avMessage(kind, base, objectID, name, int64(len(data)), caption)
	case c.meta.Deployment == string(teamsapi.Consumer):
		// Teams free shows files the Skype way: a URIObject message.
		out.MessageType = "RichText/Media_GenericFile"
		out.Content = chatsvc.FileURIObject(strings.TrimRight(base, "/")+"/v1/objects/"+objectID, objectID, name, int64(len(data)))
	default:
		link := strings.TrimRight(base, "/") + "/v1/objects/" + objectID + "/views/original"
		out.Content = `<p><a href="` + link + `">` + chatsvc.TextToHTML(name) + `</a></p>` + caption
	}
	out.AMSReferences = []string{objectID}
	return nil
}

func (c *Client) amsBase(ctx context.Context) (string, error) {
	if u := c.auth.Config().AMSURL; u != "" {
		return u, nil
	}
	sess, err := c.auth.Skype(ctx)
	if err != nil {
		return "", err
	}
	if u := sess.Hosts["ams"]; u != "" {
		return u, nil
	}
	return "", errors.New("the sign-in named no AMS host")
}

func (c *Client) HandleMatrixEdit(ctx context.Context, msg *bridgev2.MatrixEdit) error {
	chat, err := c.readyChat(msg.Portal)
	if err != nil {
		return err
	}
	msgID, err := ids.Parse(ids.Teams, string(msg.EditTarget.ID))
	if err != nil {
		return err
	}
	out := c.fromMatrix(ctx, markNotice(msg.Content), nil)
	if err = chat.Edit(ctx, native(msg.Portal), msgID, chatsvc.Outgoing{MessageType: "RichText/Html", Content: out.html, Mentions: out.mentions}); err != nil {
		return sendFailure(fmt.Errorf("edit message: %w", err), "edit")
	}
	if mm, err := messageMeta.Get(msg.EditTarget.Metadata); err == nil {
		// The edit's own echo must not be bridged back as a new edit.
		mm.EditTime = time.Now().UnixMilli() + 1000
		msg.EditTarget.Metadata = messageMeta.Wrap(mm)
	}
	return nil
}

func (c *Client) HandleMatrixMessageRemove(ctx context.Context, msg *bridgev2.MatrixMessageRemove) error {
	chat, err := c.readyChat(msg.Portal)
	if err != nil {
		return err
	}
	msgID, err := ids.Parse(ids.Teams, string(msg.TargetMessage.ID))
	if err != nil {
		return err
	}
	// Echoes of earlier changes to the message may still be on their way;
	// they must not bring it back.
	c.deletedHere.Store(msgID, struct{}{})
	if err = chat.Delete(ctx, native(msg.Portal), msgID); err != nil && !errors.Is(err, chatsvc.ErrNotFound) {
		return sendFailure(fmt.Errorf("delete message: %w", err), "deletion")
	}
	return nil
}

func (c *Client) PreHandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (bridgev2.MatrixReactionPreResponse, error) {
	if err := c.CheckPortal(msg.Portal); err != nil {
		return bridgev2.MatrixReactionPreResponse{}, err
	}
	key := reactionKey(msg.Content.RelatesTo.Key)
	return bridgev2.MatrixReactionPreResponse{SenderID: c.selfGhost(), EmojiID: networkid.EmojiID(key), Emoji: reactionEmoji(key)}, nil
}

func (c *Client) HandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (*database.Reaction, error) {
	chat, err := c.readyChat(msg.Portal)
	if err != nil {
		return nil, err
	}
	msgID, err := ids.Parse(ids.Teams, string(msg.TargetMessage.ID))
	if err != nil {
		return nil, err
	}
	if err = chat.AddReaction(ctx, native(msg.Portal), msgID, string(msg.PreHandleResp.EmojiID)); err != nil {
		return nil, sendFailure(fmt.Errorf("add reaction: %w", err), "reaction")
	}
	return &database.Reaction{}, nil
}

func (c *Client) HandleMatrixReactionRemove(ctx context.Context, msg *bridgev2.MatrixReactionRemove) error {
	chat, err := c.readyChat(msg.Portal)
	if err != nil {
		return err
	}
	msgID, err := ids.Parse(ids.Teams, string(msg.TargetReaction.MessageID))
	if err != nil {
		return err
	}
	if err = chat.RemoveReaction(ctx, native(msg.Portal), msgID, string(msg.TargetReaction.EmojiID)); err != nil {
		return sendFailure(fmt.Errorf("remove reaction: %w", err), "reaction removal")
	}
	return nil
}

func (c *Client) HandleMatrixTyping(ctx context.Context, msg *bridgev2.MatrixTyping) error {
	chat, err := c.readyChat(msg.Portal)
	if err != nil {
		return err
	}
	if !msg.IsTyping || msg.Type != bridgev2.TypingTypeText {
		return nil // Teams indicators time out on their own
	}
	// Teams shows a typing notice for ~15 s; repeating it sooner only
	// costs requests (and rate limit).
	conv := native(msg.Portal)
	now := time.Now()
	if last, ok := c.typingSent.Load(conv); ok && now.Sub(last.(time.Time)) < typingRepeat {
		return nil
	}
	c.typingSent.Store(conv, now)
	return chat.Typing(ctx, conv)
}

// HandleMatrixReadReceipt moves the user's consumption horizon.
func (c *Client) HandleMatrixReadReceipt(ctx context.Context, msg *bridgev2.MatrixReadReceipt) error {
	chat, err := c.readyChat(msg.Portal)
	if err != nil {
		return err
	}
	target := msg.ExactMessage
	if target == nil {
		target, err = c.conn.Env.Bridge.DB.Message.GetLastPartAtOrBeforeTime(ctx, msg.Portal.PortalKey, msg.ReadUpTo)
		if err != nil || target == nil {
			return err
		}
	}
	msgID, err := ids.Parse(ids.Teams, string(target.ID))
	if err != nil {
		return err
	}
	cmid := ""
	if mm, err := messageMeta.Get(target.Metadata); err == nil {
		cmid = mm.ClientMessageID
	}
	now := time.Now()
	// Our own horizon comes back as a push; it is not news.
	c.horizons.Advanced(native(msg.Portal), c.meta.MRI, now)
	return chat.SetConsumptionHorizon(ctx, native(msg.Portal), readHorizon(msgID, cmid, now))
}

// noticeMarker starts the text of an m.notice sent to Teams, which has no
// notices: a bot's output (or a /notice) still goes out, so the chat is
// complete, but marked so Teams users can tell it from what the person
// typed (as the Skype connector does).
const noticeMarker = "ℹ️ "

// markNotice is content with the marker in front of its text when it is an
// m.notice (for an edit, when the new content is), else content itself.
func markNotice(content *event.MessageEventContent) *event.MessageEventContent {
	src := content
	if content.NewContent != nil {
		src = content.NewContent
	}
	if src.MsgType != event.MsgNotice {
		return content
	}
	marked := *src
	marked.NewContent = nil
	marked.Body = noticeMarker + src.Body
	if src.Format == event.FormatHTML && src.FormattedBody != "" {
		if rest, ok := strings.CutPrefix(src.FormattedBody, "<p>"); ok {
			marked.FormattedBody = "<p>" + noticeMarker + rest
		} else {
			marked.FormattedBody = noticeMarker + src.FormattedBody
		}
	}
	if content.NewContent == nil {
		return &marked
	}
	edit := *content
	edit.NewContent = &marked
	return &edit
}
