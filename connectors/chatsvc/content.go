package chatsvc

import (
	"html"
	"regexp"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Schema URLs used as itemtype in Teams message HTML.
const (
	ReplySchema    = "http://schema.skype.com/Reply"
	EmojiSchema    = "http://schema.skype.com/Emoji"
	AMSImageSchema = "http://schema.skype.com/AMSImage"
)

var editMarker = regexp.MustCompile(`(?is)^\s*Edited previous message:\s*|<e_m\b[^>]*?(/>|>\s*</e_m>)`)

// StripEditMarker removes the Skype-lineage edit marker (<e_m .../> and the
// "Edited previous message: " prefix).
func StripEditMarker(content string) string {
	return editMarker.ReplaceAllString(content, "")
}

// ContentMention is a mention as it appears in the message HTML.
type ContentMention struct {
	// ItemID links a Teams mention span to its properties.mentions entry;
	// -1 for Skype <at id="..."> mentions, which carry the MRI inline.
	ItemID int
	MRI    string // from properties.mentions (Teams) or the id attribute (Skype)
	Text   string // the visible text of the span
}

// Quote is a reply/quote block.
type Quote struct {
	MessageID  string // the quoted message's id (Teams itemid; empty for Skype quotes)
	AuthorMRI  string
	AuthorName string
	Preview    string // plain text of the quoted part
	Time       string // unix seconds (Skype) or the quoted id (Teams)
}

// Image is an inline image.
type Image struct {
	ObjectID string // AMS object id, when the src points at AMS
	Src      string
	Alt      string
}

// Content is what ParseContent finds in a message body.
type Content struct {
	// Body is the HTML with the reply quote block and edit markers removed;
	// it is what a converter should render.
	Body     string
	Mentions []ContentMention
	Quote    *Quote
	Images   []Image
	// Emoji lists the alt text of inline emoji images in order.
	Emoji []string
}

// ParseContent parses a Text/RichText/RichText/Html content string. For
// Teams mentions the MRIs are filled from mentions (properties.mentions).
// It never fails: malformed markup is parsed leniently.
func ParseContent(messageType, content string, mentions []Mention) Content {
	content = StripEditMarker(content)
	if strings.EqualFold(messageType, "Text") {
		return Content{Body: html.EscapeString(html.UnescapeString(content))}
	}
	byItem := map[int]Mention{}
	for _, m := range mentions {
		if n, err := strconv.Atoi(strings.TrimSpace(string(m.ItemID))); err == nil {
			byItem[n] = m
		}
	}
	ctx := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := xhtml.ParseFragment(strings.NewReader(content), ctx)
	if err != nil {
		return Content{Body: html.EscapeString(content)}
	}
	var out Content
	root := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	var remove []*xhtml.Node
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			itemtype := attr(n, "itemtype")
			switch {
			case n.Data == "blockquote" && strings.EqualFold(itemtype, ReplySchema) && out.Quote == nil:
				out.Quote = parseTeamsQuote(n)
				remove = append(remove, n)
				return
			case n.Data == "quote" && out.Quote == nil:
				out.Quote = parseSkypeQuote(n)
				remove = append(remove, n)
				return
			case strings.EqualFold(itemtype, MentionSchema):
				id, err := strconv.Atoi(strings.TrimSpace(attr(n, "itemid")))
				if err != nil {
					id = -2 // unparsable: keep the text, no MRI
				}
				cm := ContentMention{ItemID: id, Text: textOf(n)}
				if m, ok := byItem[id]; ok {
					cm.MRI = m.MRI
				}
				out.Mentions = append(out.Mentions, cm)
			case n.Data == "at":
				out.Mentions = append(out.Mentions, ContentMention{ItemID: -1, MRI: attr(n, "id"), Text: textOf(n)})
			case n.Data == "img" && strings.EqualFold(itemtype, EmojiSchema):
				out.Emoji = append(out.Emoji, attr(n, "alt"))
			case n.Data == "img":
				img := Image{Src: attr(n, "src"), Alt: attr(n, "alt")}
				if strings.EqualFold(itemtype, AMSImageSchema) || strings.Contains(img.Src, "/v1/objects/") {
					img.ObjectID = firstNonEmpty(attr(n, "itemid"), attr(n, "id"), amsObjectFromURL(img.Src))
				}
				out.Images = append(out.Images, img)
			case n.Data == "e_m":
				remove = append(remove, n)
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	for _, n := range remove {
		if n.Parent != nil {
			n.Parent.RemoveChild(n)
		}
	}
	var sb strings.Builder
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		_ = xhtml.Render(&sb, c)
	}
	out.Body = strings.TrimSpace(sb.String())
	return out
}

func parseTeamsQuote(n *xhtml.Node) *Quote {
	q := &Quote{MessageID: attr(n, "itemid")}
	var preview []string
	var walk func(*xhtml.Node)
	walk = func(c *xhtml.Node) {
		if c.Type == xhtml.ElementNode {
			switch attr(c, "itemprop") {
			case "mri":
				q.AuthorMRI = attr(c, "itemid")
				q.AuthorName = textOf(c)
				return
			case "time":
				q.Time = attr(c, "itemid")
				return
			case "preview":
				preview = append(preview, textOf(c))
				return
			}
		}
		for ch := c.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c)
	}
	q.Preview = strings.TrimSpace(strings.Join(preview, "\n"))
	if q.Preview == "" {
		// Older markup without itemprops: everything but the author line.
		q.Preview = strings.TrimSpace(strings.TrimPrefix(textOf(n), q.AuthorName))
	}
	return q
}

func parseSkypeQuote(n *xhtml.Node) *Quote {
	q := &Quote{AuthorMRI: attr(n, "author"), AuthorName: attr(n, "authorname"), Time: attr(n, "timestamp"),
		MessageID: attr(n, "messageid")}
	if q.AuthorMRI != "" && !strings.Contains(q.AuthorMRI, ":") {
		q.AuthorMRI = "8:" + q.AuthorMRI
	}
	var sb strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == xhtml.ElementNode && c.Data == "legacyquote" {
			continue
		}
		sb.WriteString(textOf(c))
	}
	q.Preview = strings.TrimSpace(sb.String())
	return q
}

func amsObjectFromURL(src string) string {
	_, rest, ok := strings.Cut(src, "/v1/objects/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func textOf(n *xhtml.Node) string {
	var sb strings.Builder
	var walk func(*xhtml.Node)
	walk = func(c *xhtml.Node) {
		switch c.Type {
		case xhtml.TextNode:
			sb.WriteString(c.Data)
		case xhtml.ElementNode:
			if c.Data == "br" {
				sb.WriteString("\n")
			}
			if c.Data == "img" {
				sb.WriteString(attr(c, "alt"))
			}
		}
		for ch := c.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return sb.String()
}

// MentionSpan renders the Teams mention span for entry itemID.
func MentionSpan(itemID int, text string) string {
	return `<span itemscope="" itemtype="` + MentionSchema + `" itemid="` + strconv.Itoa(itemID) + `">` +
		html.EscapeString(text) + `</span>`
}

// ReplyQuoteHTML renders the Teams reply block that precedes a reply's body
// in a chat (channels use reply chains instead).
func ReplyQuoteHTML(q Quote) string {
	return `<blockquote itemscope="" itemtype="` + ReplySchema + `" itemid="` + html.EscapeString(q.MessageID) + `">` +
		`<strong itemprop="mri" itemid="` + html.EscapeString(q.AuthorMRI) + `">` + html.EscapeString(q.AuthorName) + `</strong>` +
		`<span itemprop="time" itemid="` + html.EscapeString(q.MessageID) + `"></span>` +
		`<p itemprop="preview">` + html.EscapeString(q.Preview) + `</p></blockquote>`
}

// TextToHTML escapes plain text for a RichText/Html body.
func TextToHTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
}
