package teams

// convert.go is the one place where Teams HTML meets Matrix content, so that
// switching to the shared two-way converter (connectors/msgfmt ToMatrix /
// FromMatrix with the Teams dialect) is a change to this file alone.

import (
	"context"
	"fmt"
	"html"
	"regexp"
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

// mentionSpan matches a Teams mention span; group 1 is its itemid.
var mentionSpan = regexp.MustCompile(`(?s)<span[^>]*itemtype="http://schema\.skype\.com/Mention"[^>]*itemid="(\d+)"[^>]*>(.*?)</span>|<span[^>]*itemid="(\d+)"[^>]*itemtype="http://schema\.skype\.com/Mention"[^>]*>(.*?)</span>`)

// pill matches a Matrix user pill in a formatted body.
var pill = regexp.MustCompile(`<a href="https://matrix\.to/#/(@[^"?]+)"[^>]*>(.*?)</a>`)

// convertMessage turns a Teams message into Matrix parts: the text (with
// mentions as pills, the reply quote as a Matrix reply) and each AMS image.
func (c *Client) convertMessage(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message) (*bridgev2.ConvertedMessage, error) {
	// Checked here, under the portal's event lock: an echo that was waiting
	// while the user deleted the message in Matrix must not bring it back.
	if _, gone := c.deletedHere.Load(string(m.ID)); gone {
		c.log.Debug().Str("message_id", string(m.ID)).Msg("Ignoring a late update of a message deleted from Matrix")
		return nil, bridgev2.ErrIgnoringRemoteEvent
	}
	content, quote, images := c.toMatrix(ctx, m)
	cm := &bridgev2.ConvertedMessage{}
	mm := &MessageMetadata{ClientMessageID: string(m.ClientMessageID)}
	if t := m.EditTime(); !t.IsZero() {
		mm.EditTime = t.UnixMilli()
	}
	if quote != nil && quote.MessageID != "" {
		cm.ReplyTo = &networkid.MessageOptionalPartID{MessageID: ids.MessageID(ids.Teams, quote.MessageID)}
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
	if content.Body != "" || len(cm.Parts) == 0 {
		if content.Body == "" {
			content.Body = "(empty message)"
		}
		cm.Parts = append([]*bridgev2.ConvertedMessagePart{{Type: event.EventMessage, Content: content, DBMetadata: messageMeta.Wrap(mm)}}, cm.Parts...)
	}
	return cm, nil
}

// convertEdit replaces the text part of an edited message.
func (c *Client) convertEdit(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, existing []*database.Message, m *chatsvc.Message) (*bridgev2.ConvertedEdit, error) {
	content, _, _ := c.toMatrix(ctx, m)
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

// toMatrix renders the text of a message for Matrix.
func (c *Client) toMatrix(ctx context.Context, m *chatsvc.Message) (*event.MessageEventContent, *chatsvc.Quote, []chatsvc.Image) {
	mentions, _ := m.Mentions()
	parsed := chatsvc.ParseContent(m.MessageType, m.Content, mentions)
	content := &event.MessageEventContent{MsgType: event.MsgText, Mentions: &event.Mentions{}}
	if strings.EqualFold(m.MessageType, "Text") {
		content.Body = strings.TrimSpace(parsed.Body)
		return content, parsed.Quote, nil
	}
	byItem := map[string]string{}
	for _, mn := range parsed.Mentions {
		byItem[strconv.Itoa(mn.ItemID)] = mn.MRI
	}
	body := mentionSpan.ReplaceAllStringFunc(parsed.Body, func(span string) string {
		sm := mentionSpan.FindStringSubmatch(span)
		item, text := sm[1], sm[2]
		if item == "" {
			item, text = sm[3], sm[4]
		}
		mri := byItem[item]
		if mri == "" {
			return text
		}
		var mxid id.UserID
		if isSelf(mri, c.meta.MRI) {
			mxid = c.Login.UserMXID
		} else {
			mxid = c.conn.env.Bridge.Matrix.FormatGhostMXID(ids.UserID(ids.Teams, mri))
		}
		content.Mentions.Add(mxid)
		return fmt.Sprintf(`<a href="https://matrix.to/#/%s">%s</a>`, mxid, text)
	})
	// Images become their own parts; their <img> tags would not survive.
	safe := strings.TrimSpace(msgfmt.SanitizeHTML(body))
	content.Body = strings.TrimSpace(msgfmt.HTMLToPlain(safe))
	if !msgfmt.IsTrivialHTML(safe) {
		content.Format = event.FormatHTML
		content.FormattedBody = safe
	}
	var images []chatsvc.Image
	for _, img := range parsed.Images {
		if img.ObjectID != "" {
			images = append(images, img)
		}
	}
	return content, parsed.Quote, images
}

func (c *Client) imagePart(ctx context.Context, intent bridgev2.MatrixAPI, portal *bridgev2.Portal, img chatsvc.Image, i int) (*bridgev2.ConvertedMessagePart, error) {
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

// fromMatrix renders Matrix content as Teams HTML: pills of Teams ghosts
// (and of the user) become mention spans, everything else is sanitised HTML.
func (c *Client) fromMatrix(ctx context.Context, content *event.MessageEventContent) outgoing {
	var src string
	if content.Format == event.FormatHTML && content.FormattedBody != "" {
		src = content.FormattedBody
	} else {
		src = msgfmt.PlainToHTML(content.Body)
	}
	if content.MsgType == event.MsgEmote {
		src = "<i>* " + src + "</i>"
	}
	var out outgoing
	src = pill.ReplaceAllStringFunc(src, func(a string) string {
		sm := pill.FindStringSubmatch(a)
		mxid := id.UserID(sm[1])
		name := msgfmt.HTMLToPlain(sm[2])
		mri := ""
		if ghost, ok := c.conn.env.Bridge.Matrix.ParseGhostMXID(mxid); ok {
			if n, err := ids.Parse(ids.Teams, string(ghost)); err == nil {
				mri = n
			}
		} else if mxid == c.Login.UserMXID {
			mri = c.meta.MRI
		}
		if mri == "" {
			return html.EscapeString(name)
		}
		item := len(out.mentions)
		out.mentions = append(out.mentions, chatsvc.Mention{Type: chatsvc.MentionSchema, ItemID: chatsvc.FlexString(strconv.Itoa(item)),
			MRI: mri, MentionType: "person", DisplayName: name})
		return "\x00mention" + strconv.Itoa(item) + "\x00"
	})
	safe := msgfmt.SanitizeHTML(src)
	for i, mn := range out.mentions {
		safe = strings.Replace(safe, "\x00mention"+strconv.Itoa(i)+"\x00", chatsvc.MentionSpan(i, mn.DisplayName), 1)
	}
	if !strings.HasPrefix(safe, "<p>") {
		safe = "<p>" + safe + "</p>"
	}
	out.html = safe
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
	return emoji
}

// readHorizon is the consumption horizon of having read msgID.
func readHorizon(msgID, cmid string, now time.Time) chatsvc.Horizon {
	return chatsvc.Horizon{MessageID: msgID, Time: now, Third: firstNonEmpty(cmid, msgID)}
}
