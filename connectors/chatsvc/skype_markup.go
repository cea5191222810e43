package chatsvc

import (
	"encoding/xml"
	"fmt"
	"html"
	"strconv"
	"strings"
)

// Skype-lineage media markup: the URIObject XML of RichText/UriObject and
// RichText/Media_* messages (images, files, audio, video, cards). Text
// markup (<b raw_pre>, <at>, <ss>, <quote>) is converted by msgfmt.

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

// SkypeBold wraps already escaped HTML in bold the way Skype clients do,
// with the raw_pre/raw_post markers older clients show as plain text. It
// and SkypeMention build test fixtures; messages are written by
// msgfmt.FromMatrix.
func SkypeBold(inner string) string { return `<b raw_pre="*" raw_post="*">` + inner + `</b>` }

// SkypeMention renders <at id="8:x">Name</at>; mri "*" mentions everyone.
func SkypeMention(mri, name string) string {
	return `<at id="` + html.EscapeString(mri) + `">` + html.EscapeString(name) + `</at>`
}

// HasSkypeMentions reports whether a RichText body contains an <at> mention
// (the "Has-Mentions" send field).
func HasSkypeMentions(content string) bool {
	return strings.Contains(content, "<at ")
}
