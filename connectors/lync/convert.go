package lync

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// remoteIDKey stamps the Lync message href into each bridged event, so a
// restart that does not know whether an event reached the room can find it
// there (see replay.go).
const remoteIDKey = "fi.imbridge.lync.message_id"

// convertIncoming is where a Lync message becomes Matrix events: HTML is
// sanitised into formatted_body, plain text kept as the body; a message
// nothing of which could be decoded becomes a notice saying so.
func (c *Client) convertIncoming(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, sip, href string, body ucwa.MessageBody) (*bridgev2.ConvertedMessage, error) {
	from := c.conv.nameOf(sip)
	if from == "" {
		from = sip
	}
	cm := &bridgev2.ConvertedMessage{}
	for i, content := range convertBody(body, from) {
		part := &bridgev2.ConvertedMessagePart{
			Type: event.EventMessage, Content: content,
			Extra: map[string]any{remoteIDKey: href, remotePartKey: partStamp(i)},
		}
		if i > 0 {
			part.ID = networkid.PartID(fmt.Sprintf("%d", i))
		}
		cm.Parts = append(cm.Parts, part)
	}
	return cm, nil
}

// convertBody renders a Lync message as one or more Matrix message
// contents. It never returns an empty body for a message that has text.
func convertBody(body ucwa.MessageBody, from string) []*event.MessageEventContent {
	plain := cleanText(body.Plain)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: plain}
	// Servers send a plain rendering beside the HTML, made their own way; the
	// body is made from the HTML instead so that both say the same.
	if body.HTML != "" {
		safe := strings.TrimSpace(msgfmt.StripControls(msgfmt.SanitizeHTML(body.HTML)))
		fromHTML := cleanText(msgfmt.HTMLToPlain(safe))
		switch {
		case strings.TrimSpace(fromHTML) == "":
			// The sanitiser kept nothing readable (broken or absurdly
			// nested markup): keep the plain part, else the HTML's text.
			if strings.TrimSpace(plain) == "" {
				content.Body = cleanText(stripTags(body.HTML))
			}
		case !msgfmt.IsTrivialHTML(safe):
			content.Format = event.FormatHTML
			content.FormattedBody = safe
			content.Body = fromHTML
		case strings.TrimSpace(plain) == "":
			content.Body = fromHTML
		}
	}
	if strings.TrimSpace(content.Body) == "" {
		if body.Undecodable || body.Plain != "" || body.HTML != "" {
			return []*event.MessageEventContent{{
				MsgType: event.MsgNotice,
				Body:    fmt.Sprintf("A message from %s could not be read: Skype for Business sent it in a form the bridge cannot decode.", from),
			}}
		}
		return []*event.MessageEventContent{content}
	}
	// A message too large for one Matrix event goes as plain text in
	// numbered parts (msgfmt.SplitForMatrix, shared with Teams and Skype).
	return msgfmt.SplitForMatrix(content)
}

// bodyText is a message's plain text: the plain body when the server sent
// one, else the HTML rendered as text; line endings normalised and the
// trailing CR/LF Lync clients append removed.
func bodyText(body ucwa.MessageBody) string {
	text := body.Plain
	if text == "" && body.HTML != "" {
		text = msgfmt.HTMLToPlain(msgfmt.SanitizeHTML(body.HTML))
	}
	return cleanText(text)
}

// cleanText normalises line endings, strips C0 control characters other
// than newline and tab (NUL and friends are invalid or invisible in Matrix
// clients; msgfmt.StripControls, as for Teams and Skype) and drops the
// trailing line ends Lync clients append.
func cleanText(text string) string {
	return strings.TrimRight(msgfmt.StripControls(text), "\n")
}

var tagRE = regexp.MustCompile(`<[^>]*>?`)

// stripTags is the last resort for HTML the sanitiser could not render:
// tags removed, entities decoded.
func stripTags(s string) string {
	return html.UnescapeString(tagRE.ReplaceAllString(s, ""))
}

// sameMessage compares two renderings of one message (an invitation's data
// URL and the later message event may differ in format and markup) by their
// letters and digits only.
func sameMessage(a, b string) bool {
	return lettersAndDigits(a) == lettersAndDigits(b)
}

func lettersAndDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}
