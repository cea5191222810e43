// Package msgfmt converts message bodies between the remote networks' HTML and
// Matrix's formatted bodies. Remote HTML is untrusted: only the tags and
// attributes the Matrix spec allows in formatted_body survive, and everything
// else is reduced to its text.
//
// Connectors make one call each way with their Dialect: ToMatrix turns a
// Lync, Teams or Skype body into Matrix content (mentions as pills through a
// MentionResolver, reply quotes as Inbound.Quote), and FromMatrix turns
// Matrix content into the network's markup (pills as mentions through a
// MentionFormatter, replies as the network's quote block). Both render plain
// text with mautrix's format.HTMLParser.
package msgfmt

import (
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// matrixTags are the HTML tags of the Matrix client-server spec's list for
// m.room.message formatted_body (the ones clients render).
var matrixTags = []string{
	"font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
	"li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead", "tbody", "tr",
	"th", "td", "caption", "pre", "span", "img", "details", "summary",
}

// linkSchemes are the URL schemes the spec allows in <a href>.
var linkSchemes = []string{"https", "http", "ftp", "mailto", "magnet"}

var (
	// colour is a CSS-style colour value as clients accept it in color and
	// data-mx-(bg-)color: #rgb, #rrggbb (with alpha) or a colour name.
	colour = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,32})$`)
	// number is a non-negative integer (ol start, img width/height).
	number = regexp.MustCompile(`^[0-9]{1,9}$`)
	// codeLanguage is the only class a <code> may carry.
	codeLanguage = regexp.MustCompile(`^language-[A-Za-z0-9_+#.-]{1,64}$`)
	// linkURL and mxcURL keep each URL kind on its element: the policy's
	// scheme list is shared by every URL attribute, so without these an
	// <a> could point at mxc:// and an <img> at https://.
	linkURL = regexp.MustCompile(`(?i)^\s*(https?|ftp|mailto|magnet):`)
	mxcURL  = regexp.MustCompile(`^\s*mxc://`)
)

var matrixPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(matrixTags...)
	// Elements without attributes are kept (bluemonday drops unknown
	// bare ones); a bare <a> or <img> does nothing, so those two go.
	p.AllowNoAttrs().OnElements(withoutAttrsAllowed()...)
	p.AllowAttrs("data-mx-bg-color", "data-mx-color", "color").Matching(colour).OnElements("font")
	p.AllowAttrs("data-mx-bg-color", "data-mx-color").Matching(colour).OnElements("span")
	p.AllowAttrs("data-mx-spoiler", "data-mx-maths").OnElements("span")
	p.AllowAttrs("data-mx-maths").OnElements("div")
	p.AllowAttrs("name", "target").OnElements("a")
	p.AllowAttrs("href").Matching(linkURL).OnElements("a")
	p.AllowAttrs("width", "height").Matching(number).OnElements("img")
	p.AllowAttrs("alt", "title").OnElements("img")
	p.AllowAttrs("src").Matching(mxcURL).OnElements("img")
	p.AllowAttrs("start").Matching(number).OnElements("ol")
	p.AllowAttrs("class").Matching(codeLanguage).OnElements("code")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.AllowURLSchemes(linkSchemes...)
	p.AllowURLSchemeWithCustomPolicy("mxc", func(u *url.URL) bool {
		// mxc://<server name>/<media ID>, nothing else.
		return u.Host != "" && len(u.Path) > 1 && !strings.Contains(u.Path[1:], "/") && u.RawQuery == "" && u.Fragment == ""
	})
	// Their text must not leak into the message either (bluemonday already
	// skips script, style, iframe, object, title and the like).
	p.SkipElementsContent("head", "template", "textarea", "select", "svg", "math")
	return p
})

func withoutAttrsAllowed() []string {
	var out []string
	for _, t := range matrixTags {
		if t != "a" && t != "img" {
			out = append(out, t)
		}
	}
	return out
}

// voidElements have no content and no end tag.
var voidElements = map[atom.Atom]bool{atom.Br: true, atom.Hr: true, atom.Img: true}

// maxDepth is how deeply elements may nest in converted HTML. Deeper
// elements are unwrapped to their content. HTML5 parsers (golang.org/x/net/html
// and so format.HTMLParser among them) give up on documents nested more
// than 512 deep, which would leave a message without a body; no real
// message nests anywhere near this far.
const maxDepth = 100

// SanitizeHTML returns html with only Matrix-safe tags and attributes
// (bluemonday under the Matrix allow-list): unknown tags are unwrapped, their
// text kept; scripts, styles and the like vanish with their content; links
// keep only the spec's schemes and images only mxc:// sources. The result is
// also well-formed (every element closed, in order), nested at most maxDepth
// deep, and sanitizing it again returns it unchanged.
func SanitizeHTML(in string) string {
	return balance(matrixPolicy().Sanitize(in))
}

// balance re-serializes already-sanitized HTML so that elements nest and
// close properly: stray end tags are dropped, open elements are closed when
// an outer one ends or the input does, void elements are written as <br>.
// A self-closing non-void tag such as <a/> is a start tag, as HTML parsers
// treat it. Elements nested deeper than maxDepth are unwrapped. balance
// decides nothing about safety: it only writes the tags and attributes it is
// given.
func balance(in string) string {
	z := html.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	var open []string
	// skipped are the elements too deep to write, innermost last, so that
	// their end tags are dropped instead of closing an outer namesake.
	var skipped []string
	closeFrom := func(i int) {
		for j := len(open) - 1; j >= i; j-- {
			b.WriteString("</" + open[j] + ">")
		}
		open = open[:i]
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			closeFrom(0)
			return b.String()
		case html.TextToken:
			b.WriteString(html.EscapeString(string(z.Text())))
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !voidElements[tok.DataAtom] && len(open) >= maxDepth {
				skipped = append(skipped, tok.Data)
				continue
			}
			b.WriteString("<" + tok.Data)
			for _, a := range tok.Attr {
				b.WriteString(" " + a.Key + `="` + html.EscapeString(a.Val) + `"`)
			}
			b.WriteString(">")
			if !voidElements[tok.DataAtom] {
				open = append(open, tok.Data)
			}
		case html.EndTagToken:
			tok := z.Token()
			if n := len(skipped); n > 0 && skipped[n-1] == tok.Data {
				skipped = skipped[:n-1]
				continue
			}
			for i := len(open) - 1; i >= 0; i-- {
				if open[i] == tok.Data {
					closeFrom(i)
					break
				}
			}
		}
	}
}
