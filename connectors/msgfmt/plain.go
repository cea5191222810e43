package msgfmt

import (
	"context"
	"html"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"
)

// plainParser renders Matrix HTML as a plain body: user pills become the
// name they show (and are collected in the context's mentions), links
// "text (url)", lists and quotes their usual text forms.
var plainParser = &format.HTMLParser{
	TabsToSpaces:   4,
	Newline:        "\n",
	HorizontalLine: "\n---\n",
	PillConverter:  format.DefaultPillConverter,
}

// HTMLToPlain renders HTML as the plain text a Matrix body (or a plain-only
// remote client) shows: line breaks kept, links as "text (url)", user pills
// as the name they show, markup gone.
func HTMLToPlain(in string) string {
	return renderPlain(context.Background(), plainParser, in)
}

// renderPlain runs parser over in, nested no deeper than the HTML parser
// copes with, and returns the text without C0 control characters.
func renderPlain(ctx context.Context, parser *format.HTMLParser, in string) string {
	out := parser.Parse(limitDepth(in, maxDepth), format.NewContext(ctx))
	return strings.TrimSpace(stripControls(out))
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

// stripControls removes the C0 control characters other than tab and line
// feed (and DEL), which no message means to carry and some clients choke
// on; a CR or CRLF becomes a line feed.
func stripControls(s string) string {
	if !strings.ContainsFunc(s, isStrippedControl) && !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if isStrippedControl(r) {
			return -1
		}
		return r
	}, s)
}

func isStrippedControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f
}

// rawVoid are the HTML void elements: they never open a level of nesting.
var rawVoid = map[atom.Atom]bool{
	atom.Area: true, atom.Base: true, atom.Br: true, atom.Col: true, atom.Embed: true, atom.Hr: true,
	atom.Img: true, atom.Input: true, atom.Keygen: true, atom.Link: true, atom.Meta: true, atom.Param: true,
	atom.Source: true, atom.Track: true, atom.Wbr: true,
}

// limitDepth returns untrusted HTML unchanged except that start tags nested
// more than max deep (as the tokenizer counts, end tags closing their
// innermost namesake) are dropped with their end tags, so that their content
// joins the parent. Everything it keeps is written byte for byte, so the
// result means what the input meant to an HTML parser, minus the excess
// nesting; it decides nothing about safety.
func limitDepth(in string, max int) string {
	if strings.Count(in, "<") <= max {
		return in
	}
	z := xhtml.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	type level struct {
		name string
		kept bool
	}
	var open []level
	depth := 0
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return b.String()
		case xhtml.StartTagToken:
			name, _ := z.TagName()
			if rawVoid[atom.Lookup(name)] {
				break
			}
			keep := depth < max
			open = append(open, level{string(name), keep})
			if !keep {
				continue
			}
			depth++
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			i := len(open) - 1
			for i >= 0 && open[i].name != string(name) {
				i--
			}
			if i < 0 {
				break
			}
			kept := open[i].kept
			for _, l := range open[i:] {
				if l.kept {
					depth--
				}
			}
			open = open[:i]
			if !kept {
				continue
			}
		}
		b.Write(z.Raw())
	}
}

// LocationText is an m.location as text for a network without locations:
// the description the sender gave, the coordinates and a map link, so the
// place is not lost. A geo: URI that cannot be read is kept as it is.
func LocationText(c *event.MessageEventContent) string {
	desc := strings.TrimSpace(stripControls(c.Body))
	geo := strings.TrimSpace(stripControls(c.GeoURI))
	coords, _, _ := strings.Cut(strings.TrimPrefix(strings.ToLower(geo), "geo:"), ";")
	lat, lon, ok := strings.Cut(coords, ",")
	if lon, _, _ = strings.Cut(lon, ","); ok {
		la, errLat := strconv.ParseFloat(strings.TrimSpace(lat), 64)
		lo, errLon := strconv.ParseFloat(strings.TrimSpace(lon), 64)
		if errLat == nil && errLon == nil && la >= -90 && la <= 90 && lo >= -180 && lo <= 180 {
			pos := strconv.FormatFloat(la, 'f', -1, 64) + "," + strconv.FormatFloat(lo, 'f', -1, 64)
			link := "https://www.openstreetmap.org/?mlat=" + strconv.FormatFloat(la, 'f', -1, 64) +
				"&mlon=" + strconv.FormatFloat(lo, 'f', -1, 64)
			return strings.TrimSpace("📍 " + desc + " (" + pos + ") " + link)
		}
	}
	if geo != "" && !strings.Contains(desc, geo) {
		desc = strings.TrimSpace(desc + " " + geo)
	}
	return "📍 " + firstNonEmpty(desc, "a location")
}

// StripControls removes C0 control characters other than newline and tab
// (and normalises CR line ends), for remote text that goes into a notice.
func StripControls(s string) string { return stripControls(s) }
