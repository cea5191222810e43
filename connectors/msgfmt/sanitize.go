// Package msgfmt converts message bodies between the remote networks' HTML and
// Matrix's formatted bodies. Remote HTML is untrusted: only the tags and
// attributes the Matrix spec allows in formatted_body survive, and everything
// else is reduced to its text.
package msgfmt

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// allowedTags are the HTML tags the Matrix client-server spec recommends
// clients render in m.room.message formatted_body.
var allowedTags = map[atom.Atom]bool{
	atom.Font: true, atom.Del: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Blockquote: true, atom.P: true, atom.A: true, atom.Ul: true,
	atom.Ol: true, atom.Sup: true, atom.Sub: true, atom.Li: true, atom.B: true, atom.I: true,
	atom.U: true, atom.Strong: true, atom.Em: true, atom.S: true, atom.Strike: true, atom.Code: true,
	atom.Hr: true, atom.Br: true, atom.Div: true, atom.Table: true, atom.Thead: true, atom.Tbody: true,
	atom.Tr: true, atom.Th: true, atom.Td: true, atom.Caption: true, atom.Pre: true, atom.Span: true,
	atom.Details: true, atom.Summary: true,
}

// droppedWithContent are elements whose text must not leak into the message.
var droppedWithContent = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true, atom.Iframe: true,
	atom.Object: true, atom.Template: true, atom.Noscript: true, atom.Textarea: true, atom.Select: true,
}

var voidTags = map[atom.Atom]bool{atom.Br: true, atom.Hr: true}

// SanitizeHTML returns html with only Matrix-safe tags and attributes. Unknown
// tags are unwrapped (their text kept); scripts and styles vanish with their
// content; links keep only http, https and mailto targets.
func SanitizeHTML(in string) string {
	z := html.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	var open []atom.Atom // allowed elements currently open, to close them in order
	skipDepth := 0
	var skipTag atom.Atom
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			for i := len(open) - 1; i >= 0; i-- {
				b.WriteString("</" + open[i].String() + ">")
			}
			return b.String()
		case html.TextToken:
			if skipDepth == 0 {
				b.WriteString(html.EscapeString(string(z.Text())))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if skipDepth > 0 {
				if tok.DataAtom == skipTag && tt == html.StartTagToken {
					skipDepth++
				}
				continue
			}
			if droppedWithContent[tok.DataAtom] {
				if tt == html.StartTagToken {
					skipDepth, skipTag = 1, tok.DataAtom
				}
				continue
			}
			if !allowedTags[tok.DataAtom] {
				continue
			}
			b.WriteString("<" + tok.DataAtom.String())
			for _, attr := range safeAttrs(tok) {
				b.WriteString(" " + attr.Key + `="` + html.EscapeString(attr.Val) + `"`)
			}
			b.WriteString(">")
			if !voidTags[tok.DataAtom] && tt == html.StartTagToken {
				open = append(open, tok.DataAtom)
			}
		case html.EndTagToken:
			tok := z.Token()
			if skipDepth > 0 {
				if tok.DataAtom == skipTag {
					skipDepth--
				}
				continue
			}
			if !allowedTags[tok.DataAtom] || voidTags[tok.DataAtom] {
				continue
			}
			// Close up to the matching open element; a stray end tag is dropped.
			for i := len(open) - 1; i >= 0; i-- {
				if open[i] == tok.DataAtom {
					for j := len(open) - 1; j >= i; j-- {
						b.WriteString("</" + open[j].String() + ">")
					}
					open = open[:i]
					break
				}
			}
		}
	}
}

func safeAttrs(tok html.Token) []html.Attribute {
	var out []html.Attribute
	for _, a := range tok.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case tok.DataAtom == atom.A && key == "href":
			if safeLink(a.Val) {
				out = append(out, html.Attribute{Key: "href", Val: a.Val})
			}
		case tok.DataAtom == atom.Font && key == "color", tok.DataAtom == atom.Ol && key == "start":
			out = append(out, html.Attribute{Key: key, Val: a.Val})
		case tok.DataAtom == atom.Span && (key == "data-mx-color" || key == "data-mx-bg-color"):
			out = append(out, html.Attribute{Key: key, Val: a.Val})
		case tok.DataAtom == atom.Code && key == "class" && strings.HasPrefix(a.Val, "language-"):
			out = append(out, html.Attribute{Key: key, Val: a.Val})
		}
	}
	return out
}

func safeLink(href string) bool {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return true
	}
	return false
}
