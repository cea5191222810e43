package msgfmt

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"maunium.net/go/mautrix/event"
)

// Homeservers refuse an event whose JSON (signatures, hashes and envelope
// included) is over 65,536 bytes with M_TOO_LARGE, and bridgev2 then drops
// the message. A Teams or Skype message may be far longer (a pasted log), so
// converted content is cut to fit before it is sent:
//   - MaxEventText is what body and formatted_body may take together, as
//     JSON encodes them, leaving room for the envelope, mentions and
//     relations;
//   - above it the message goes as plain text in parts of at most
//     MaxPartText bytes each, numbered "(1/3) …";
//   - beyond MaxParts parts the rest is cut off with a marker saying how
//     much was left out.
const (
	MaxEventText = 48 * 1024
	MaxPartText  = 24 * 1024
	MaxParts     = 40
)

// FormattingRemovedMarker starts the first part of a message that had to be
// split: its formatting could not be kept across parts.
const FormattingRemovedMarker = "[formatting removed: the message was too long for one Matrix event]"

// FitsOneEvent reports whether the content's text is small enough for one
// Matrix event.
func FitsOneEvent(c *event.MessageEventContent) bool {
	return JSONLen(c.Body)+JSONLen(c.FormattedBody) <= MaxEventText
}

// SplitForMatrix returns c itself when it fits one event, else its plain
// text in numbered parts (same msgtype; the first keeps c's mentions),
// truncated with a marker past MaxParts. It never returns an empty list.
func SplitForMatrix(c *event.MessageEventContent) []*event.MessageEventContent {
	if c == nil || FitsOneEvent(c) {
		return []*event.MessageEventContent{c}
	}
	chunks := splitJSONText(c.Body, MaxPartText)
	left := 0
	if len(chunks) > MaxParts {
		for _, rest := range chunks[MaxParts:] {
			left += utf8.RuneCountInString(rest)
		}
		chunks = chunks[:MaxParts]
	}
	out := make([]*event.MessageEventContent, 0, len(chunks))
	for i, ch := range chunks {
		text := ch
		if len(chunks) > 1 {
			text = fmt.Sprintf("(%d/%d) %s", i+1, len(chunks), ch)
		}
		if left > 0 && i == len(chunks)-1 {
			text += truncatedMarker(left)
		}
		part := &event.MessageEventContent{MsgType: c.MsgType, Body: text, Mentions: &event.Mentions{}}
		if i == 0 {
			if c.FormattedBody != "" {
				part.Body = FormattingRemovedMarker + "\n" + part.Body
			}
			if c.Mentions != nil {
				part.Mentions = c.Mentions
			}
		}
		out = append(out, part)
	}
	return out
}

// TruncateForMatrix is c cut to one event (for an edit, which replaces one
// event and cannot add parts): plain text with a marker when it is too long.
func TruncateForMatrix(c *event.MessageEventContent) *event.MessageEventContent {
	if c == nil || FitsOneEvent(c) {
		return c
	}
	chunks := splitJSONText(c.Body, MaxEventText-1024)
	left := 0
	for _, rest := range chunks[1:] {
		left += utf8.RuneCountInString(rest)
	}
	out := *c
	out.Format, out.FormattedBody = "", ""
	out.Body = chunks[0] + truncatedMarker(left)
	return &out
}

func truncatedMarker(left int) string {
	return fmt.Sprintf("\n[message truncated: %d more characters were too long for Matrix]", left)
}

// JSONLen is how many bytes s takes as a JSON string the way Go (and so
// mautrix) encodes it: <, > and & as \u escapes, controls escaped.
func JSONLen(s string) int {
	n := 0
	for _, r := range s {
		n += jsonRuneLen(r)
	}
	return n
}

func jsonRuneLen(r rune) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	case r == utf8.RuneError:
		return 3
	}
	return utf8.RuneLen(r)
}

// splitJSONText cuts s into pieces of at most limit JSON bytes, cutting at
// white space in the last quarter of a piece when there is some, so that
// words stay whole.
func splitJSONText(s string, limit int) []string {
	var out []string
	for s != "" {
		size, end, lastSpace := 0, 0, -1
		for i, r := range s {
			l := jsonRuneLen(r)
			if size+l > limit {
				break
			}
			size += l
			end = i + utf8.RuneLen(r)
			if unicode.IsSpace(r) && size > limit*3/4 {
				lastSpace = end
			}
		}
		if end == len(s) {
			out = append(out, s)
			break
		}
		if lastSpace > 0 {
			end = lastSpace
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}
