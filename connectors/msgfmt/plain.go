package msgfmt

import (
	"context"
	"html"
	"strings"

	"maunium.net/go/mautrix/format"
)

// HTMLToPlain renders HTML as the plain text a Matrix body (or a plain-only
// remote client) shows: line breaks kept, links as "text (url)", markup gone.
func HTMLToPlain(in string) string {
	parser := &format.HTMLParser{TabsToSpaces: 4, Newline: "\n", HorizontalLine: "\n---\n"}
	return strings.TrimSpace(parser.Parse(in, format.NewContext(context.Background())))
}

// PlainToHTML escapes plain text for an HTML body, keeping its line breaks.
func PlainToHTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
}

// IsTrivialHTML reports whether sanitized HTML carries no formatting beyond
// what its plain rendering shows, so a Matrix event needs no formatted_body.
func IsTrivialHTML(sanitized string) bool {
	s := strings.NewReplacer("<br>", "", "<p>", "", "</p>", "", "<div>", "", "</div>", "", "<span>", "", "</span>", "").Replace(sanitized)
	return !strings.Contains(s, "<")
}
