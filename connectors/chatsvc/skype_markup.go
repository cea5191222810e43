package chatsvc

import (
	"encoding/xml"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Skype RichText markup: the parts ParseContent does not cover (emoticons,
// URIObject files and images) and builders for what a Skype client sends
// (formatting with raw_pre/raw_post, <at> mentions, <quote> replies).

// Emoticon is an <ss type="smile">:)</ss> element.
type Emoticon struct {
	Type     string // catalogue id, e.g. "smile"
	Shortcut string // visible text, e.g. ":)"
}

// SkypeEmoticons lists the emoticons of a RichText body in order.
func SkypeEmoticons(content string) []Emoticon {
	ctx := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := xhtml.ParseFragment(strings.NewReader(content), ctx)
	if err != nil {
		return nil
	}
	var out []Emoticon
	var walk func(*xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "ss" {
			out = append(out, Emoticon{Type: attr(n, "type"), Shortcut: textOf(n)})
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return out
}

// URIObject is the body of RichText/UriObject and RichText/Media_* messages.
type URIObject struct {
	Type         string // Picture.1, File.1, Video.1, Audio.1, SWIFT.1
	URI          string // https://api.asm.skype.com/v1/objects/<id>
	ThumbnailURL string
	Title        string
	Description  string
	OriginalName string
	FileSize     int64
	DocID        string // the ASM object id (from the URI)
	Link         string // the <a href> fallback link
	Swift        string // base64 card JSON of SWIFT.1
}

type xmlURIObject struct {
	XMLName      xml.Name `xml:"URIObject"`
	Type         string   `xml:"type,attr"`
	URI          string   `xml:"uri,attr"`
	Thumb        string   `xml:"url_thumbnail,attr"`
	DocID        string   `xml:"doc_id,attr"`
	Title        string   `xml:"Title"`
	Description  string   `xml:"Description"`
	OriginalName struct {
		V string `xml:"v,attr"`
	} `xml:"OriginalName"`
	FileSize struct {
		V string `xml:"v,attr"`
	} `xml:"FileSize"`
	A struct {
		Href string `xml:"href,attr"`
	} `xml:"a"`
	Meta struct {
		OriginalName string `xml:"originalName,attr"`
	} `xml:"meta"`
	Swift struct {
		B64 string `xml:"b64,attr"`
	} `xml:"Swift"`
}

// ParseURIObject decodes a URIObject body. The service's markup is XML, but
// HTML entities (&nbsp;) and unescaped ampersands in links appear, so the
// decoder is lenient.
func ParseURIObject(content string) (*URIObject, error) {
	content = strings.TrimSpace(StripEditMarker(content))
	if !strings.Contains(content, "<URIObject") {
		return nil, fmt.Errorf("not a URIObject")
	}
	var x xmlURIObject
	d := xml.NewDecoder(strings.NewReader(content[strings.Index(content, "<URIObject"):]))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	if err := d.Decode(&x); err != nil {
		return nil, fmt.Errorf("decode URIObject: %w", err)
	}
	o := &URIObject{Type: x.Type, URI: x.URI, ThumbnailURL: x.Thumb,
		Title:        strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(x.Title), "Title:")),
		Description:  strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(x.Description), "Description:")),
		OriginalName: firstNonEmpty(x.OriginalName.V, x.Meta.OriginalName),
		Link:         x.A.Href, Swift: x.Swift.B64, DocID: x.DocID}
	o.FileSize, _ = strconv.ParseInt(strings.TrimSpace(x.FileSize.V), 10, 64)
	if o.DocID == "" {
		o.DocID = amsObjectFromURL(o.URI)
	}
	if o.DocID == "" && o.URI != "" {
		// uri="https://api.asm.skype.com/v1/objects/<id>" without a trailing segment
		if i := strings.LastIndex(o.URI, "/"); i >= 0 {
			o.DocID = o.URI[i+1:]
		}
	}
	return o, nil
}

// URIObjectKind is what a URIObject carries.
type URIObjectKind int

// URIObject kinds.
const (
	URIUnknown URIObjectKind = iota
	URIPicture
	URIFile
	URIVideo
	URIAudio
	URICard
)

// Kind classifies the object by its type attribute.
func (o *URIObject) Kind() URIObjectKind {
	t, _, _ := strings.Cut(strings.ToLower(o.Type), ".")
	switch t {
	case "picture":
		return URIPicture
	case "file":
		return URIFile
	case "video":
		return URIVideo
	case "audio":
		return URIAudio
	case "swift":
		return URICard
	}
	return URIUnknown
}

// ImageURIObject renders the markup of a RichText/UriObject image message.
// uri is the ASM object URL (https://<asm>/v1/objects/<id>).
func ImageURIObject(uri, objectID, name string, size int64) string {
	u := html.EscapeString(uri)
	n := html.EscapeString(name)
	base := uri
	if i := strings.Index(base, "/v1/objects/"); i >= 0 {
		base = base[:i]
	}
	return `<URIObject type="Picture.1" uri="` + u + `" url_thumbnail="` + u + `/views/imgt1">` +
		`To view this shared photo, go to: <a href="` + html.EscapeString(base+"/s/i?"+objectID) + `">` + html.EscapeString(base+"/s/i?"+objectID) + `</a>` +
		`<OriginalName v="` + n + `"/><FileSize v="` + strconv.FormatInt(size, 10) + `"/>` +
		`<meta type="photo" originalName="` + n + `"/></URIObject>`
}

// FileURIObject renders the markup of a RichText/Media_GenericFile message.
func FileURIObject(uri, objectID, name string, size int64) string {
	u := html.EscapeString(uri)
	n := html.EscapeString(name)
	link := "https://login.skype.com/login/sso?go=webclient.xmm&docid=" + objectID
	return `<URIObject type="File.1" uri="` + u + `" url_thumbnail="` + u + `/views/thumbnail">` +
		`<Title>Title: ` + n + `</Title><Description>Description: ` + n + `</Description>` +
		`<FileSize v="` + strconv.FormatInt(size, 10) + `"/><OriginalName v="` + n + `"/>` +
		`<a href="` + html.EscapeString(link) + `">` + html.EscapeString(link) + `</a></URIObject>`
}

// SkypeBold and the other formatting helpers wrap already escaped HTML the
// way the Skype clients do, with the raw_pre/raw_post markers older clients
// show as plain text.
func SkypeBold(inner string) string { return `<b raw_pre="*" raw_post="*">` + inner + `</b>` }

// SkypeItalic wraps inner in italics.
func SkypeItalic(inner string) string { return `<i raw_pre="_" raw_post="_">` + inner + `</i>` }

// SkypeStrike wraps inner in strikethrough.
func SkypeStrike(inner string) string { return `<s raw_pre="~" raw_post="~">` + inner + `</s>` }

// SkypeCode wraps inner in a monospace block.
func SkypeCode(inner string) string {
	return `<pre raw_pre="{code}" raw_post="{code}">` + inner + `</pre>`
}

// SkypeLink renders a hyperlink.
func SkypeLink(href, text string) string {
	return `<a href="` + html.EscapeString(href) + `">` + html.EscapeString(text) + `</a>`
}

// SkypeMention renders <at id="8:x">Name</at>; mri "*" mentions everyone.
func SkypeMention(mri, name string) string {
	return `<at id="` + html.EscapeString(mri) + `">` + html.EscapeString(name) + `</at>`
}

// SkypeEmoticon renders <ss type="id">shortcut</ss>.
func SkypeEmoticon(id, shortcut string) string {
	return `<ss type="` + html.EscapeString(id) + `">` + html.EscapeString(shortcut) + `</ss>`
}

// SkypeQuote is what a Skype reply quotes.
type SkypeQuote struct {
	AuthorMRI  string // 8:joe.4 (the prefix is stripped on the wire)
	AuthorName string
	// Conversation is the chat id; for a 1:1 the 8: prefix is stripped.
	Conversation string
	Time         time.Time
	// Text is the quoted message's plain text.
	Text string
	// MessageID is not part of skpy's markup; the bridge adds it as an
	// attribute so its own replies resolve exactly.
	MessageID string
}

// SkypeQuoteHTML renders a <quote> block with the legacy text that web
// clients displayed. now decides whether the date is shown.
func SkypeQuoteHTML(q SkypeQuote, now time.Time) string {
	author := strings.TrimPrefix(q.AuthorMRI, "8:")
	conv := strings.TrimPrefix(q.Conversation, "8:")
	t := q.Time.UTC()
	stamp := t.Format("15:04:05")
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.UTC().Date()
	if y1 != y2 || m1 != m2 || d1 != d2 {
		stamp = t.Format("02/01/2006 15:04:05")
	}
	var sb strings.Builder
	sb.WriteString(`<quote author="` + html.EscapeString(author) + `" authorname="` + html.EscapeString(q.AuthorName) +
		`" conversation="` + html.EscapeString(conv) + `" timestamp="` + strconv.FormatInt(t.Unix(), 10) + `"`)
	if q.MessageID != "" {
		sb.WriteString(` messageid="` + html.EscapeString(q.MessageID) + `"`)
	}
	sb.WriteString(`><legacyquote>[` + stamp + `] ` + html.EscapeString(q.AuthorName) + `: </legacyquote>`)
	sb.WriteString(html.EscapeString(q.Text))
	sb.WriteString(`<legacyquote>` + "\n\n" + `&lt;&lt;&lt; </legacyquote></quote>`)
	return sb.String()
}

// EditMarker renders the <e_m/> marker a Skype edit carries.
func EditMarker(t time.Time, editor string) string {
	return `<e_m ts="` + strconv.FormatInt(t.Unix(), 10) + `" ts_ms="` + strconv.FormatInt(t.UnixMilli(), 10) +
		`" a="` + html.EscapeString(strings.TrimPrefix(editor, "8:")) + `" t="61"/>`
}

// HasSkypeMentions reports whether a RichText body contains an <at> mention
// (the "Has-Mentions" send field).
func HasSkypeMentions(content string) bool {
	return strings.Contains(content, "<at ")
}
