package skype

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// mentionResolver maps a Skype MRI to its ghost, or to the user's own
// Matrix account for their own MRI.
func (c *Client) mentionResolver() msgfmt.MentionResolver {
	return msgfmt.ResolverFunc(func(ctx context.Context, remoteID string) (id.UserID, string, bool) {
		mri := strings.ToLower(remoteID)
		if !strings.HasPrefix(mri, "8:") {
			return "", "", false
		}
		if mri == c.selfMRI() {
			return c.Login.UserMXID, c.Login.RemoteProfile.Name, true
		}
		ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, ghostID(mri))
		if err != nil || ghost == nil {
			return "", "", false
		}
		return ghost.Intent.GetMXID(), ghost.Name, true
	})
}

// mentionFormatter maps a mentioned Matrix user to a Skype MRI: a Skype
// ghost, or a bridge user with a Skype login.
func (c *Client) mentionFormatter() msgfmt.MentionFormatter {
	return msgfmt.FormatterFunc(func(ctx context.Context, userID id.UserID) (string, string, bool) {
		br := c.conn.Env.Bridge
		if ghostNet, ok := br.Matrix.ParseGhostMXID(userID); ok {
			mri, err := ids.Parse(ids.Skype, string(ghostNet))
			if err != nil {
				return "", "", false
			}
			name := strings.TrimPrefix(mri, "8:")
			if g, err := br.GetExistingGhostByID(ctx, ghostNet); err == nil && g != nil && g.Name != "" {
				name = g.Name
			}
			return mri, name, true
		}
		if userID == c.Login.UserMXID {
			return c.selfMRI(), c.Login.RemoteProfile.Name, true
		}
		if u, err := br.GetExistingUserByMXID(ctx, userID); err == nil && u != nil {
			for _, ul := range u.GetUserLogins() {
				if other, ok := ul.Client.(*Client); ok {
					return other.selfMRI(), ul.RemoteProfile.Name, true
				}
			}
		}
		return "", "", false
	})
}

// convertMessage turns a Skype message into Matrix content: text through
// msgfmt, files and images (URIObject) as media, calls and unknown types as
// notices so nothing vanishes silently.
func (c *Client) convertMessage(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message) (*bridgev2.ConvertedMessage, error) {
	if bad := m.BadTimestamp(); bad != "" {
		c.log.Warn().Str("id", string(m.ID)).Str("timestamp", bad).Msg("Unreadable Skype message time; dating it by when the bridge received it")
	}
	if len(m.Unreadable) > 0 {
		c.log.Warn().Str("id", string(m.ID)).Strs("fields", m.Unreadable).Msg("Skype message has fields that could not be decoded; bridging the rest")
	}
	pm := &MessageMetadata{ServerID: string(m.ID)}
	if m.Properties.Has("edittime") {
		pm.LastEditID = m.VersionInt() // history shows the edited content
	}
	meta := messageMeta.Wrap(pm)
	conv, err := c.convertMessageParts(ctx, portal, intent, m, meta)
	if err != nil {
		return nil, err
	}
	// The message ID rides along in the event, so a send whose answer was
	// lost can be recognised in the room (replay.go).
	for _, part := range conv.Parts {
		if part.Extra == nil {
			part.Extra = map[string]any{}
		}
		part.Extra[remoteIDKey] = string(msgID(native(portal), string(m.ClientMessageID), string(m.ID)))
	}
	return conv, nil
}

func (c *Client) convertMessageParts(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message, meta any) (*bridgev2.ConvertedMessage, error) {
	if m.FieldUnreadable("content") {
		return noticeMessage(fmt.Sprintf("A message from %s could not be read; open Skype to see it.", senderName(m)), meta), nil
	}
	switch m.Kind() {
	case chatsvc.KindText:
		content, reply, images := c.textToMatrix(ctx, portal, m)
		if content.Body == "" && reply == nil && len(images) == 0 && strings.TrimSpace(m.Content) != "" {
			// There was content, but nothing readable came of it.
			c.log.Warn().Str("id", string(m.ID)).Int("content_bytes", len(m.Content)).Msg("Skype message has no readable text; bridging a notice")
			return noticeMessage(fmt.Sprintf("A message from %s could not be read; open Skype to see it.", senderName(m)), meta), nil
		}
		cm := &bridgev2.ConvertedMessage{ReplyTo: reply}
		if content.Body != "" || len(images) == 0 {
			// A text over the homeserver's event size limit goes in
			// parts (msgfmt.SplitForMatrix); the first keeps part ID "".
			texts := msgfmt.SplitForMatrix(content)
			for i, tc := range texts {
				part := &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: tc, DBMetadata: meta}
				if i > 0 {
					part.ID = networkid.PartID("txt" + strconv.Itoa(i))
				}
				cm.Parts = append(cm.Parts, part)
			}
			if len(texts) > 1 {
				c.log.Info().Str("id", string(m.ID)).Int("parts", len(texts)).Msg("Skype message too long for one Matrix event; split into parts")
			}
		}
		for i, img := range images {
			part := c.inlineImagePart(ctx, portal, intent, img, i)
			part.ID = networkid.PartID("img" + strconv.Itoa(i))
			part.DBMetadata = meta
			cm.Parts = append(cm.Parts, part)
		}
		return cm, nil
	case chatsvc.KindMedia:
		part, err := c.mediaToMatrix(ctx, portal, intent, m)
		if err != nil {
			return nil, err
		}
		part.DBMetadata = meta
		return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{part}}, nil
	case chatsvc.KindCall:
		return noticeMessage(callText(m), meta), nil
	}
	c.log.Warn().Str("type", m.MessageType).Str("id", string(m.ID)).Msg("Bridging an unsupported Skype message type as a notice")
	return noticeMessage(fmt.Sprintf("Unsupported Skype message (%s); open Skype to see it.", m.MessageType), meta), nil
}

func noticeMessage(text string, meta any) *bridgev2.ConvertedMessage {
	return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
		Type: event.EventMessage, Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: text}, DBMetadata: meta,
	}}}
}

func callText(m *chatsvc.Message) string {
	ce, err := chatsvc.ParseCallEvent(m)
	if err != nil || ce == nil {
		return "Skype call"
	}
	switch ce.Type {
	case "started":
		return "📞 Call started"
	case "ended":
		return "📞 Call ended"
	case "missed":
		return "📞 Missed call"
	}
	return "📞 Call"
}

// textToMatrix converts a text message; a Skype quote becomes a Matrix
// reply when the quoted message is bridged, or stays as a blockquote.
func (c *Client) textToMatrix(ctx context.Context, portal *bridgev2.Portal, m *chatsvc.Message) (*event.MessageEventContent, *networkid.MessageOptionalPartID, []msgfmt.InlineImage) {
	in := msgfmt.ToMatrix(ctx, msgfmt.Remote{
		Content: m.Content, Plain: strings.EqualFold(m.MessageType, "Text"), EmoteOffset: int(m.SkypeEmoteOffset.Int()),
	}, msgfmt.Skype, c.mentionResolver())
	if in.Quote == nil {
		return in.Content, nil, in.Images
	}
	conv := native(portal)
	if in.Quote.MessageID != "" {
		for _, cand := range []networkid.MessageID{msgID(conv, in.Quote.MessageID, ""), msgID(conv, "", in.Quote.MessageID)} {
			if part, err := c.existing(ctx, cand); err == nil && part != nil {
				return in.Content, &networkid.MessageOptionalPartID{MessageID: cand}, in.Images
			}
		}
	}
	return in.WithQuote(), nil, in.Images
}

// inlineImagePart bridges an image embedded in a RichText body (an <img>
// naming an ASM object): msgfmt takes it out of the text, so it must come
// back as its own part or as a notice saying it could not be fetched.
func (c *Client) inlineImagePart(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, img msgfmt.InlineImage, i int) *bridgev2.ConvertedMessagePart {
	name := firstNonEmpty(img.Alt, "image"+strconv.Itoa(i+1))
	data, err := c.api.Download(ctx, img.Src, "imgpsh_fullsize")
	var content *event.MessageEventContent
	if err == nil {
		content, err = uploadContent(ctx, portal, intent, data, name, event.MsgImage)
	}
	if err != nil {
		c.log.Warn().Err(err).Str("object", img.ObjectID).Msg("Inline Skype image not bridged; sending a notice instead")
		return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
			MsgType: event.MsgNotice, Body: fmt.Sprintf("(an image, %s, that the bridge could not fetch: %v)", name, err)}}
	}
	return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: content}
}

// uploadContent uploads a downloaded Skype file to Matrix (encrypted in an
// encrypted room) and describes it as a message of msgType.
func uploadContent(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, data []byte, name string, msgType event.MessageType) (*event.MessageEventContent, error) {
	mime := http.DetectContentType(data)
	uri, file, err := intent.UploadMedia(ctx, portal.MXID, data, name, mime)
	if err != nil {
		return nil, fmt.Errorf("upload %s to Matrix: %w", name, err)
	}
	content := &event.MessageEventContent{MsgType: msgType, Body: name, FileName: name, URL: uri, File: file,
		Info: &event.FileInfo{MimeType: mime, Size: len(data)}}
	if file != nil {
		content.URL = ""
	}
	return content, nil
}

// convertEdit converts an edit record's new content.
func (c *Client) convertEdit(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, existing []*database.Message, m *chatsvc.Message) (*bridgev2.ConvertedEdit, error) {
	if len(existing) == 0 {
		return nil, fmt.Errorf("edit of a message that was never bridged")
	}
	// Catch-up may hand over an edit that was already applied.
	pm, err := messageMeta.Get(existing[0].Metadata)
	if err != nil {
		return nil, err
	}
	// An edit record's id and the edited original's version are the same
	// stamp, so the live and the history form of one edit compare equal.
	stamp := m.VersionInt()
	if m.SkypeEditedID != "" {
		stamp = m.ID.Int()
	}
	if stamp > 0 && stamp <= pm.LastEditID {
		return nil, bridgev2.ErrIgnoringRemoteEvent
	}
	pm.LastEditID = stamp
	content, _, _ := c.textToMatrix(ctx, portal, m)
	// An edit replaces one event: a text too long for it is cut, marked.
	content = msgfmt.TruncateForMatrix(content)
	return &bridgev2.ConvertedEdit{ModifiedParts: []*bridgev2.ConvertedEditPart{
		(&bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: content}).ToEditPart(existing[0]),
	}}, nil
}

// mediaToMatrix downloads a URIObject's file from ASM and uploads it to
// Matrix. A file that cannot be fetched becomes a notice naming it, with
// a warn log line, rather than vanishing.
func (c *Client) mediaToMatrix(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message) (*bridgev2.ConvertedMessagePart, error) {
	obj, err := chatsvc.ParseURIObject(m.Content)
	if err != nil {
		c.log.Warn().Err(err).Str("type", m.MessageType).Msg("Unreadable Skype media message; bridging it as a notice")
		return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
			MsgType: event.MsgNotice, Body: fmt.Sprintf("Unsupported Skype message (%s); open Skype to see it.", m.MessageType)}}, nil
	}
	name := firstNonEmpty(obj.OriginalName, obj.Title, "file")
	kind := obj.Kind()
	view, msgType := "original", event.MsgFile
	switch kind {
	case chatsvc.URIPicture:
		view, msgType = "imgpsh_fullsize", event.MsgImage
	case chatsvc.URIVideo:
		view, msgType = "video", event.MsgVideo
	case chatsvc.URIAudio:
		view, msgType = "audio", event.MsgAudio
	}
	if obj.URI == "" {
		return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
			MsgType: event.MsgNotice, Body: fmt.Sprintf("Skype shared %s, which the bridge cannot fetch; open Skype to see it.", name)}}, nil
	}
	data, err := c.api.Download(ctx, obj.URI, view)
	if err != nil {
		c.log.Warn().Err(err).Str("object", obj.DocID).Msg("Cannot download a Skype file; bridging a notice instead")
		return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: &event.MessageEventContent{
			MsgType: event.MsgNotice, Body: fmt.Sprintf("Skype shared %s, but the bridge could not download it (%v).", name, err)}}, nil
	}
	content, err := uploadContent(ctx, portal, intent, data, name, msgType)
	if err != nil {
		return nil, err
	}
	return &bridgev2.ConvertedMessagePart{Type: event.EventMessage, Content: content}, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// senderName is who sent m, for a notice about it.
func senderName(m *chatsvc.Message) string {
	return firstNonEmpty(strings.TrimSpace(msgfmt.StripControls(m.IMDisplayName)), strings.TrimPrefix(m.Sender(), "8:"), "someone")
}
