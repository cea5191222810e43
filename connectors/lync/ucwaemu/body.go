package ucwaemu

import (
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// body is one message as it travels between members.
type body struct {
	text string // plain text as sent (empty when only HTML was sent)
	html string
	opID string
	from *member
	when time.Time
	log  *Message
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plain is the text a Plain-only client sees.
func (b *body) plain() string {
	if b.text != "" || b.html == "" {
		return b.text
	}
	s := strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n").Replace(b.html)
	return html.UnescapeString(tagRE.ReplaceAllString(s, ""))
}

// dataURL is the invitation "message" link: HTML when the receiving
// application negotiated it, else plain text.
func (b *body) dataURL(htmlOK bool) string {
	if b.html != "" && htmlOK {
		return htmlDataURL(b.html)
	}
	return plainDataURL(b.plain())
}

// Servers form-encode data URL payloads ("Hello..+This+is+Sandeep+Here..").
func plainDataURL(s string) string { return "data:text/plain;charset=utf-8," + url.QueryEscape(s) }

func htmlDataURL(s string) string { return "data:text/html;charset=utf-8," + url.QueryEscape(s) }

func itoa(n int) string { return strconv.Itoa(n) }
