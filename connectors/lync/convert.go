package lync

import (
	"context"
	"strings"
	"unicode"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// convertIncoming is where a Lync message becomes a Matrix event: HTML is
// sanitised into formatted_body, plain text kept as the body.
func convertIncoming(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, body ucwa.MessageBody) (*bridgev2.ConvertedMessage, error) {
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: bodyText(body)}
	// Servers send a plain rendering beside the HTML, made their own way; the
	// body is made from the HTML instead so that both say the same.
	if body.HTML != "" {
		safe := strings.TrimSpace(msgfmt.SanitizeHTML(body.HTML))
		if !msgfmt.IsTrivialHTML(safe) {
			content.Format = event.FormatHTML
			content.FormattedBody = safe
			content.Body = trimLineEnds(msgfmt.HTMLToPlain(safe))
		}
	}
	return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
		Type: event.EventMessage, Content: content,
	}}}, nil
}

// bodyText is a message's plain text: the plain body when the server sent
// one, else the HTML rendered as text; line endings normalised and the
// trailing CR/LF Lync clients append removed.
func bodyText(body ucwa.MessageBody) string {
	text := body.Plain
	if text == "" && body.HTML != "" {
		text = msgfmt.HTMLToPlain(msgfmt.SanitizeHTML(body.HTML))
	}
	return trimLineEnds(text)
}

func trimLineEnds(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.TrimRight(text, "\r\n")
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
