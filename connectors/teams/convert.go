package teams

// convert.go is the one place where Teams HTML meets Matrix content, so that
// switching to the shared two-way converter (connectors/msgfmt ToMatrix /
// FromMatrix with the Teams dialect) is a change to this file alone.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// convertMessage turns a Teams message into Matrix parts: the text (with
// mentions as pills, the reply quote as a Matrix reply) and each AMS image.
func (c *Client) convertMessage(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message) (*bridgev2.ConvertedMessage, error) {
	// Checked here, under the portal's event lock: an echo that was waiting
	// while the user deleted the message in Matrix must not bring it back.
	if _, gone := c.deletedHere.Load(string(m.ID)); gone {
		c.log.Debug().Str("message_id", string(m.ID)).Msg("Ignoring a late update of a message deleted from Matrix")
		return nil, bridgev2.ErrIgnoringRemoteEvent
	}
	if bad := m.BadTimestamp(); bad != "" {
		c.log.Warn().Str("message_id", string(m.ID)).Str("timestamp", bad).Msg("Unreadable Teams message time; dating it by when the bridge received it")
	}
	if len(m.Unreadable) > 0 {
		c.log.Warn().Str("message_id", string(m.ID)).Strs("fields", m.Unreadable).Msg("Teams message has fields that could not be decoded; bridging the rest")
	}
	mm := &MessageMetadata{ClientMessageID: string(m.ClientMessageID)}
	if m.FieldUnreadable("content") {
		cm := &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{Type: event.EventMessage,
			Content: &event.MessageEventContent{MsgType: event.MsgNotice,
				Body: fmt.Sprintf("A message from %s could not be read; open Teams to see it.", senderName(m))}, DBMetadata: messageMeta.Wrap(mm)}}}
		stamp(cm, string(m.ID))
		return cm, nil
	}
	if m.Kind() == chatsvc.KindCall {
		cm := &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{Type: event.EventMessage,
			Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: callText(m)}, DBMetadata: messageMeta.Wrap(mm)}}}
		stamp(cm, string(m.ID))
		return cm, nil
	}
	if m.Kind() == chatsvc.KindUnknown {
		// A kind of message this bridge does not know: said, not dropped.
		c.log.Warn().Str("message_id", string(m.ID)).Str("type", m.MessageType).Msg("Bridging an unsupported Teams message type as a notice")
		cm := &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{Type: event.EventMessage,
			Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: fmt.Sprintf("%s sent a kind of Teams message the bridge cannot show (%s); open Teams to see it.",
				senderName(m), m.MessageType)}, DBMetadata: messageMeta.Wrap(mm)}}}
		stamp(cm, string(m.ID))
		return cm, nil
	}
	if obj := uriObject(m); obj != nil {
		cm := &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{c.uriObjectPart(ctx, intent, portal, obj)}}
		cm.Parts[0].DBMetadata = messageMeta.Wrap(mm)
		stamp(cm, string(m.ID))
		return cm, nil
	}
	in, images := c.toMatrix(ctx, m)
	content, quote := in.Content, in.Quote
	cm := &bridgev2.ConvertedMessage{}
	if t := m.EditTime(); !t.IsZero() {
		mm.EditTime = t.UnixMilli()
	}
	// A channel reply chain is a Matrix thread under its root post.
	if _, root := m.Conversation(); root != "" && root != string(m.ID) {
		threadRoot := ids.MessageID(ids.Teams, root)
		cm.ThreadRoot = &threadRoot
	}
	if quote != nil {
		if quote.MessageID != "" && c.known(ctx, portal, quote.MessageID) {
			cm.ReplyTo = &networkid.MessageOptionalPartID{MessageID: ids.MessageID(ids.Teams, quote.MessageID)}
		} else {
			// Not bridged (or named no message): keep the quoted text.
			content = in.WithQuote()
		}
	}
	for i, img := range images {
		part, err := c.imagePart(ctx, intent, portal, img, i)
		if err != nil {
			c.log.Warn().Err(err).Str("object", img.ObjectID).Msg("Teams image not bridged; sending its link as text")
			part = &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
				MsgType: event.MsgNotice, Body: "(an image that could not be bridged: " + err.Error() + ")"}}
		}
		part.ID = networkid.PartID("img" + strconv.Itoa(i))
		part.DBMetadata = messageMeta.Wrap(mm)
		cm.Parts = append(cm.Parts, part)
	}
	cm.Parts = append(cm.Parts, c.giphyParts(ctx, intent, portal, m, messageMeta.Wrap(mm))...)
	if files := sharedFiles(m); files != "" {
		// Work accounts share files through SharePoint/OneDrive; the
		// bridge cannot fetch those, so it links them.
		if content.Body != "" {
			content.Body += "\n"
		}
		content.Body += files
		if content.FormattedBody != "" {
			content.FormattedBody += "<br>" + msgfmt.PlainToHTML(files)
		}
	}
	if content.Body != "" || len(cm.Parts) == 0 {
		if content.Body == "" && cm.ReplyTo == nil && strings.TrimSpace(m.Content) != "" {
			// There was content, but nothing readable came of it.
			c.log.Warn().Str("message_id", string(m.ID)).Int("content_bytes", len(m.Content)).Msg("Teams message has no readable text; bridging a notice")
			content = &event.MessageEventContent{MsgType: event.MsgNotice,
				Body: fmt.Sprintf("A message from %s could not be read; open Teams to see it.", senderName(m))}
		} else if content.Body == "" {
			content.Body = "(empty message)"
		}
		// A text over the homeserver's event size limit goes in parts
		// (msgfmt.SplitForMatrix); the first keeps the message's part ID.
		var texts []*bridgev2.ConvertedMessagePart
		for i, tc := range msgfmt.SplitForMatrix(content) {
			part := &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: tc, DBMetadata: messageMeta.Wrap(mm)}
			if i > 0 {
				part.ID = networkid.PartID("txt" + strconv.Itoa(i))
			}
			texts = append(texts, part)
		}
		if len(texts) > 1 {
			c.log.Info().Str("message_id", string(m.ID)).Int("parts", len(texts)).Msg("Teams message too long for one Matrix event; split into parts")
		}
		cm.Parts = append(texts, cm.Parts...)
	}
	stamp(cm, string(m.ID))
	return cm, nil
}

// convertEdit replaces the text part of an edited message.
func (c *Client) convertEdit(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, existing []*database.Message, m *chatsvc.Message) (*bridgev2.ConvertedEdit, error) {
	in, _ := c.toMatrix(ctx, m)
	// An edit replaces one event, so a text too long for it is cut (with a
	// marker) rather than refused by the homeserver.
	content := msgfmt.TruncateForMatrix(in.Content)
	if content.Body == "" {
		content.Body = "(empty message)"
	}
	target := existing[0]
	if mm, err := messageMeta.Get(target.Metadata); err == nil {
		mm.EditTime = m.EditTime().UnixMilli()
		target.Metadata = messageMeta.Wrap(mm)
	}
	return &bridgev2.ConvertedEdit{ModifiedParts: []*bridgev2.ConvertedEditPart{{Part: target, Type: event.EventMessage, Content: content}}}, nil
}

// toMatrix renders the text of a message for Matrix through the shared
// converter (Teams dialect); the inline AMS images it finds become parts
// of their own.
func (c *Client) toMatrix(ctx context.Context, m *chatsvc.Message) (*msgfmt.Inbound, []msgfmt.InlineImage) {
	mentions, _ := m.Mentions()
	remote := msgfmt.Remote{Content: m.Content, Plain: strings.EqualFold(m.MessageType, "Text")}
	for _, mn := range mentions {
		remote.Mentions = append(remote.Mentions, msgfmt.RemoteMention{ItemID: int(mn.ItemID.Int()), UserID: mn.MRI,
			DisplayName: mn.DisplayName, MentionType: mn.MentionType})
	}
	in := msgfmt.ToMatrix(ctx, remote, msgfmt.Teams, mentionResolver{c})
	return in, in.Images
}

// mentionResolver maps Teams MRIs to Matrix users for the converter.
type mentionResolver struct{ c *Client }

func (r mentionResolver) MatrixUser(ctx context.Context, remoteID string) (id.UserID, string, bool) {
	if !strings.HasPrefix(remoteID, "8:") {
		return "", "", false
	}
	if isSelf(remoteID, r.c.meta.MRI) {
		return r.c.Login.UserMXID, r.c.Login.RemoteProfile.Name, true
	}
	return r.c.conn.Env.Bridge.Matrix.FormatGhostMXID(ids.UserID(ids.Teams, remoteID)), "", true
}

// RemoteUser maps a mentioned Matrix user to a Teams MRI: a Teams ghost, or
// the user's own account.
func (r mentionResolver) RemoteUser(ctx context.Context, userID id.UserID) (string, string, bool) {
	if ghost, ok := r.c.conn.Env.Bridge.Matrix.ParseGhostMXID(userID); ok {
		mri, err := ids.Parse(ids.Teams, string(ghost))
		if err != nil {
			return "", "", false
		}
		name := ""
		if g, err := r.c.conn.Env.Bridge.GetExistingGhostByID(ctx, ghost); err == nil && g != nil {
			name = g.Name
		}
		return mri, name, true
	}
	if userID == r.c.Login.UserMXID {
		return r.c.meta.MRI, r.c.Login.RemoteProfile.Name, true
	}
	return "", "", false
}

func (c *Client) imagePart(ctx context.Context, intent bridgev2.MatrixAPI, portal *bridgev2.Portal, img msgfmt.InlineImage, i int) (*bridgev2.ConvertedMessagePart, error) {
	if c.conn.directMedia {
		uri, err := c.directURI(ctx, img.ObjectID, "imgpsh_fullsize")
		if err != nil {
			return nil, fmt.Errorf("direct media URI: %w", err)
		}
		return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
			MsgType: event.MsgImage, Body: "image" + strconv.Itoa(i+1), URL: uri,
		}}, nil
	}
	data, mime, err := c.auth.Files().Download(ctx, img.ObjectID, "imgpsh_fullsize")
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	name := "image" + strconv.Itoa(i+1) + extensionFor(mime)
	uri, file, err := intent.UploadMedia(ctx, portal.MXID, data, name, mime)
	if err != nil {
		return nil, fmt.Errorf("upload to Matrix: %w", err)
	}
	return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
		MsgType: event.MsgImage, Body: name, URL: uri, File: file,
		Info: &event.FileInfo{MimeType: mime, Size: len(data)},
	}}, nil
}

func extensionFor(mime string) string {
	switch mime {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ""
}

// outgoing is a Matrix message in Teams' RichText/Html with its mentions.
type outgoing struct {
	html     string
	mentions []chatsvc.Mention
}

// fromMatrix renders Matrix content as Teams HTML through the shared
// converter; reply is the Teams message replied to, if any.
func (c *Client) fromMatrix(ctx context.Context, content *event.MessageEventContent, reply *msgfmt.Quote) outgoing {
	ob := msgfmt.FromMatrix(ctx, content, msgfmt.Teams, mentionResolver{c},
		msgfmt.OutboundOptions{Reply: reply, SenderName: c.Login.RemoteProfile.Name})
	out := outgoing{html: ob.Content}
	for _, mn := range ob.Mentions {
		out.mentions = append(out.mentions, chatsvc.Mention{Type: chatsvc.MentionSchema, ItemID: chatsvc.FlexString(strconv.Itoa(mn.ItemID)),
			MRI: mn.UserID, MentionType: firstNonEmpty(mn.MentionType, "person"), DisplayName: mn.DisplayName})
	}
	return out
}

// Teams' named quick reactions and their Unicode emoji.
var namedReactions = map[string]string{
	"like": "👍", "heart": "❤️", "laugh": "😆", "surprised": "😮", "sad": "😢", "angry": "😠",
	"smile": "🙂", "cry": "😭", "wink": "😉", "yes": "✔️", "no": "❌",
}

// reactionEmoji is the Matrix reaction for a Teams key: a named reaction's
// emoji, a "<hex codepoints>_<name>" key's codepoints, and an unknown key
// kept as its text.
func reactionEmoji(key string) string {
	if e, ok := namedReactions[strings.ToLower(key)]; ok {
		return e
	}
	if e, ok := msgfmt.EmoticonUnicode(key); ok {
		return e
	}
	if hexPart, _, ok := strings.Cut(key, "_"); ok && hexPart != "" {
		var b strings.Builder
		for _, h := range strings.Split(hexPart, "-") {
			r, err := strconv.ParseUint(h, 16, 32)
			if err != nil || r < 0x80 || r > 0x10FFFF {
				b.Reset()
				break
			}
			b.WriteRune(rune(r))
		}
		if b.Len() > 0 {
			return b.String()
		}
	}
	return key
}

// reactionKey is the Teams key for a Matrix reaction: the named reaction of
// the emoji, else the emoji itself (a key made on the Teams side comes back
// unchanged).
func reactionKey(emoji string) string {
	trimmed := strings.TrimSuffix(emoji, "\ufe0f")
	for k, e := range namedReactions {
		if e == emoji || strings.TrimSuffix(e, "\ufe0f") == trimmed {
			return k
		}
	}
	return unicodeReactionKey(emoji)
}

// readHorizon is the consumption horizon of having read msgID.
func readHorizon(msgID, cmid string, now time.Time) chatsvc.Horizon {
	return chatsvc.Horizon{MessageID: msgID, Time: now, Third: firstNonEmpty(cmid, msgID)}
}

// known reports whether a Teams message is bridged in the portal, so a
// reply can point at it.
func (c *Client) known(ctx context.Context, portal *bridgev2.Portal, msgID string) bool {
	m, err := c.conn.Env.Bridge.DB.Message.GetFirstPartByID(ctx, portal.Receiver, ids.MessageID(ids.Teams, msgID))
	return err == nil && m != nil
}

// callText describes a call event for a notice.
func callText(m *chatsvc.Message) string {
	ev, err := chatsvc.ParseCallEvent(m)
	if err != nil || ev == nil {
		return "📞 A Teams call (details could not be read)"
	}
	switch ev.Type {
	case "started":
		return "📞 A Teams call started"
	case "ended":
		return "📞 The Teams call ended"
	case "missed":
		return "📞 Missed Teams call"
	}
	return "📞 Teams call: " + ev.Type
}

// sharedFiles lists the files a message shares (properties.files) as
// "📎 name: link" lines.
func sharedFiles(m *chatsvc.Message) string {
	var files []struct {
		FileName  string `json:"fileName"`
		Title     string `json:"title"`
		ObjectURL string `json:"objectUrl"`
		FileInfo  struct {
			ShareURL string `json:"shareUrl"`
			FileURL  string `json:"fileUrl"`
		} `json:"fileInfo"`
	}
	if ok, err := m.Properties.JSON("files", &files); !ok || err != nil {
		return ""
	}
	var lines []string
	for _, f := range files {
		name := firstNonEmpty(f.FileName, f.Title, "a file")
		link := firstNonEmpty(f.FileInfo.ShareURL, f.ObjectURL, f.FileInfo.FileURL)
		if link != "" {
			lines = append(lines, "📎 "+name+": "+link)
		} else {
			lines = append(lines, "📎 "+name)
		}
	}
	return strings.Join(lines, "\n")
}

// stamp marks every part with the Teams message id and part (replay.go).
func stamp(cm *bridgev2.ConvertedMessage, native string) {
	for _, p := range cm.Parts {
		if p.Extra == nil {
			p.Extra = map[string]any{}
		}
		p.Extra[stampKey] = native
		p.Extra[stampPartKey] = string(p.ID)
	}
}

// uriObject is the AMS file or picture a RichText/UriObject or
// RichText/Media_* message (Teams free, Skype lineage) carries, if any.
func uriObject(m *chatsvc.Message) *chatsvc.URIObject {
	mt := strings.ToLower(m.MessageType)
	if !strings.HasPrefix(mt, "richtext/uriobject") && !strings.HasPrefix(mt, "richtext/media_") {
		return nil
	}
	obj, err := chatsvc.ParseURIObject(m.Content)
	if err != nil || obj.DocID == "" {
		return nil
	}
	return obj
}

// uriObjectPart bridges an AMS file or picture; when it cannot be fetched,
// a notice with its name says what was shared.
func (c *Client) uriObjectPart(ctx context.Context, intent bridgev2.MatrixAPI, portal *bridgev2.Portal, obj *chatsvc.URIObject) *bridgev2.ConvertedMessagePart {
	name := firstNonEmpty(obj.OriginalName, strings.TrimPrefix(obj.Title, "Title: "), "file")
	msgType, view := event.MsgFile, "original"
	switch obj.Kind() {
	case chatsvc.URIPicture:
		msgType, view = event.MsgImage, "imgpsh_fullsize"
	case chatsvc.URIVideo:
		msgType, view = event.MsgVideo, "video"
	case chatsvc.URIAudio:
		msgType, view = event.MsgAudio, "audio"
	}
	content := &event.MessageEventContent{MsgType: msgType, Body: name, FileName: name}
	markVoice(content, obj)
	if c.conn.directMedia {
		uri, err := c.directURI(ctx, obj.DocID, view)
		if err == nil {
			content.URL = uri
			if obj.FileSize > 0 {
				content.Info = &event.FileInfo{Size: int(obj.FileSize)}
			}
			return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: content}
		}
		c.log.Warn().Err(err).Msg("No direct media URI for an AMS file; uploading it")
	}
	data, mime, err := c.auth.Files().Download(ctx, obj.DocID, view)
	if err == nil {
		content.URL, content.File, err = intent.UploadMedia(ctx, portal.MXID, data, name, mime)
		content.Info = &event.FileInfo{MimeType: mime, Size: len(data)}
	}
	if err != nil {
		c.log.Warn().Err(err).Str("object", obj.DocID).Msg("Teams file not bridged; sending a notice")
		return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
			MsgType: event.MsgNotice, Body: "📎 " + name + " (shared in Teams; the bridge could not fetch it: " + err.Error() + ")"}}
	}
	return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: content}
}

// senderName is who sent m, for a notice about it.
func senderName(m *chatsvc.Message) string {
	return firstNonEmpty(strings.TrimSpace(msgfmt.StripControls(m.IMDisplayName)), m.Sender(), "someone")
}
