package msgfmt

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"
	"maunium.net/go/mautrix/id"
)

// Outbound is a Matrix message converted for a remote network.
type Outbound struct {
	// MessageType is the chat service messagetype to send: "RichText/Html"
	// (Teams) or "RichText" (Skype); for Lync "Html" when Content is set,
	// else "Text".
	MessageType string
	// Content is the message content: Teams HTML, Skype RichText, or Lync's
	// HTML part ("" when the message has no formatting).
	Content string
	// Plain is the message as plain text: Lync's plain part, and a preview
	// for anything that shows one.
	Plain string
	// Mentions are the people Content mentions, in order. For Teams they
	// go to properties.mentions (see TeamsMentionsJSON), ItemID matching
	// each span's itemid; for Skype they say Has-Mentions.
	Mentions []RemoteMention
	// MentionsEveryone says Content mentions the whole chat (Skype's
	// <at id="*">, from an @room the Matrix message pinged).
	MentionsEveryone bool
	// EmoteOffset is Skype's skypeemoteoffset for an m.emote: the length of
	// the sender-name prefix Content starts with.
	EmoteOffset int
}

// OutboundOptions is what FromMatrix needs from the caller beside the
// content itself.
type OutboundOptions struct {
	// Reply is the message being replied to, as the remote network knows it
	// (its remote ID, author MRI and name, a plain preview, its time and,
	// for Skype, its conversation). It becomes a Teams Reply blockquote or
	// a Skype <quote>; Lync has no quotes and ignores it.
	Reply *Quote
	// SenderName is the sender's display name, which a Skype /me message
	// starts with.
	SenderName string
	// Now dates Skype's legacy quote line; zero means time.Now.
	Now time.Time
}

// FromMatrix converts Matrix message content to the dialect's markup. An
// edit may be given as the edit event's content (m.new_content is used, or
// else the "* " fallback is taken off) or as the new content itself; reply
// fallbacks are dropped. Pills go through f (nil: every pill is sent as the
// name it shows). The HTML is sanitised under the Matrix allow-list before
// it is converted, so nothing a Matrix client could not show is sent on.
func FromMatrix(ctx context.Context, content *event.MessageEventContent, d Dialect, f MentionFormatter, opts OutboundOptions) Outbound {
	if content == nil {
		content = &event.MessageEventContent{}
	}
	body, formatted := matrixText(content)
	if opts.Reply != nil {
		q := cleanQuote(*opts.Reply)
		opts.Reply = &q
	}
	emote := content.MsgType == event.MsgEmote
	if content.NewContent != nil {
		emote = content.NewContent.MsgType == event.MsgEmote
	}
	if formatted == "" {
		formatted = PlainToHTML(body)
	}
	safe := strings.TrimSpace(SanitizeHTML(formatted))
	c := &fromMatrix{ctx: ctx, dialect: d, formatter: f}
	src := content
	if content.NewContent != nil {
		src = content.NewContent
	}
	c.room = src.Mentions != nil && src.Mentions.Room
	out := Outbound{Plain: renderPlain(ctx, plainParser, safe)}
	if out.Plain == "" {
		out.Plain = strings.TrimSpace(body)
	}
	switch d {
	case Teams:
		out.MessageType = "RichText/Html"
		out.Content = emotePrefix(c.teamsHTML(safe), emote)
		if opts.Reply != nil {
			out.Content = TeamsReplyHTML(*opts.Reply) + out.Content
		}
	case Skype:
		out.MessageType = "RichText"
		out.Content = strings.TrimSpace(c.skypeParser().Parse(safe, format.NewContext(ctx)))
		if emote {
			prefix := strings.TrimSpace(stripControls(opts.SenderName))
			if prefix == "" {
				prefix = "/me"
			}
			prefix = skypeEscape(prefix) + " "
			out.Content = prefix + out.Content
			out.EmoteOffset = utf8.RuneCountInString(html.UnescapeString(prefix))
		}
		if opts.Reply != nil {
			now := opts.Now
			if now.IsZero() {
				now = time.Now()
			}
			out.Content = SkypeQuote(*opts.Reply, now) + out.Content
		}
	default:
		out.MessageType = "Text"
		if !IsTrivialHTML(safe) {
			out.MessageType = "Html"
			out.Content = emotePrefix(c.teamsHTML(safe), emote)
		}
		// Lync has no mentions: pills went as names.
		c.mentions = nil
	}
	if emote {
		out.Plain = "* " + out.Plain
	}
	out.Mentions = c.mentions
	out.MentionsEveryone = c.everyone
	// Names from the formatter and the options joined the text last.
	out.Content, out.Plain = stripControls(out.Content), stripControls(out.Plain)
	for i := range out.Mentions {
		out.Mentions[i].DisplayName = stripControls(out.Mentions[i].DisplayName)
		out.Mentions[i].UserID = stripControls(out.Mentions[i].UserID)
	}
	return out
}

// cleanQuote is q without control characters, which may have come from
// anywhere the caller stored it.
func cleanQuote(q Quote) Quote {
	for _, f := range []*string{&q.MessageID, &q.AuthorID, &q.AuthorName, &q.Text, &q.Conversation} {
		*f = stripControls(*f)
	}
	return q
}

// emotePrefix starts an m.emote's HTML with "* ", inside its first
// paragraph if it starts with one.
func emotePrefix(content string, emote bool) string {
	switch {
	case !emote:
		return content
	case strings.HasPrefix(content, "<p>"):
		return "<p>* " + content[len("<p>"):]
	}
	return "* " + content
}

// matrixText is the message's text and HTML with edit and reply fallbacks
// taken off, C0 controls stripped.
func matrixText(content *event.MessageEventContent) (body, formatted string) {
	src := content
	editFallback := false
	if content.NewContent != nil {
		src = content.NewContent
	} else if content.RelatesTo.GetReplaceID() != "" {
		editFallback = true
	}
	body = stripControls(src.Body)
	if src.Format == event.FormatHTML && strings.TrimSpace(src.FormattedBody) != "" {
		formatted = matrixURIsToMatrixTo(stripControls(src.FormattedBody))
	}
	if formatted != "" {
		var had bool
		formatted, had = dropElement(formatted, "mx-reply")
		if had {
			body = event.TrimReplyFallbackText(body)
		}
	} else if content.RelatesTo.GetReplyTo() != "" {
		body = event.TrimReplyFallbackText(body)
	}
	if editFallback {
		body = strings.TrimPrefix(body, "* ")
		if formatted != "" {
			formatted = strings.TrimPrefix(strings.TrimLeft(formatted, " \n"), "* ")
		}
	}
	return body, formatted
}

// matrixURIsToMatrixTo rewrites links to matrix: URIs (which the Matrix
// allow-list does not keep) as the matrix.to URLs meaning the same, so that
// pills written either way are recognised.
func matrixURIsToMatrixTo(in string) string {
	if !strings.Contains(strings.ToLower(in), "matrix:") {
		return in
	}
	z := xhtml.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return b.String()
		}
		if tt == xhtml.StartTagToken || tt == xhtml.SelfClosingTagToken {
			tok := z.Token()
			if tok.DataAtom == atom.A {
				for i, a := range tok.Attr {
					if a.Key != "href" || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "matrix:") {
						continue
					}
					if uri, err := id.ParseMatrixURI(strings.TrimSpace(a.Val)); err == nil {
						tok.Attr[i].Val = uri.MatrixToURL()
					}
				}
				b.WriteString(tok.String())
				continue
			}
		}
		b.Write(z.Raw())
	}
}

// dropElement removes every name element from HTML, with all it contains,
// and says whether there was one.
func dropElement(in, name string) (string, bool) {
	if !strings.Contains(strings.ToLower(in), "<"+name) {
		return in, false
	}
	z := xhtml.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	depth, found := 0, false
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return b.String(), found
		}
		tag, _ := z.TagName()
		switch {
		case tt == xhtml.StartTagToken && string(tag) == name:
			depth++
			found = true
			continue
		case tt == xhtml.EndTagToken && string(tag) == name && depth > 0:
			depth--
			continue
		case tt == xhtml.SelfClosingTagToken && string(tag) == name:
			found = true
			continue
		}
		if depth == 0 {
			b.Write(z.Raw())
		}
	}
}

type fromMatrix struct {
	ctx       context.Context
	dialect   Dialect
	formatter MentionFormatter
	mentions  []RemoteMention
	// room says the message pings the room, so its "@room" is a mention.
	room     bool
	everyone bool
}

// mention looks a pill's user up; ok is false when the remote network has no
// one to mention for them.
func (c *fromMatrix) mention(mxid, shown string) (m RemoteMention, ok bool) {
	if c.formatter == nil || mxid == "" || mxid[0] != '@' {
		return m, false
	}
	remoteID, name, ok := c.formatter.RemoteUser(c.ctx, id.UserID(mxid))
	if !ok || strings.TrimSpace(remoteID) == "" {
		return m, false
	}
	if strings.TrimSpace(shown) == "" || shown == mxid {
		shown = firstNonEmpty(name, mxid)
	}
	m = RemoteMention{ItemID: len(c.mentions), UserID: remoteID, DisplayName: strings.TrimSpace(shown), MentionType: "person"}
	c.mentions = append(c.mentions, m)
	return m, true
}

// teamsHTML rewrites sanitized Matrix HTML as Teams (or Lync) HTML: pills
// become Mention spans (plain names for Lync, and for users the formatter
// does not know), inline images their alt text, spoilers visible text
// between || marks, Matrix-only attributes dropped. Teams renders the rest
// of the Matrix list (paragraphs, lists, quotes, code, tables) as it is.
func (c *fromMatrix) teamsHTML(safe string) string {
	root := parseFragment(safe)
	if root == nil {
		return html.EscapeString(textOfHTML(safe))
	}
	c.teamsChildren(root)
	return strings.TrimSpace(renderChildren(root))
}

func (c *fromMatrix) teamsChildren(n *xhtml.Node) {
	for ch := n.FirstChild; ch != nil; {
		next := ch.NextSibling
		if ch.Type == xhtml.ElementNode {
			c.teamsNode(ch)
		}
		ch = next
	}
}

func (c *fromMatrix) teamsNode(n *xhtml.Node) {
	switch n.DataAtom {
	case atom.A:
		href := attr(n, "href")
		if uri, err := id.ParseMatrixURIOrMatrixToURL(href); err == nil && uri.Sigil1 == '@' {
			shown := strings.TrimSpace(textOf(n))
			if m, ok := c.mention(string(uri.UserID()), shown); ok && c.dialect == Teams {
				replace(n, teamsMentionNode(m))
				return
			} else if ok {
				shown = m.DisplayName
			}
			replace(n, textNode(firstNonEmpty(shown, string(uri.UserID()))))
			return
		}
		n.Attr = keepAttrs(n.Attr, "href")
	case atom.Img:
		replace(n, textNode(firstNonEmpty(attr(n, "alt"), attr(n, "title"))))
		return
	case atom.Span:
		if _, spoiler := hasAttr(n, "data-mx-spoiler"); spoiler {
			n.InsertBefore(textNode("||"), n.FirstChild)
			n.AppendChild(textNode("||"))
		}
		n.Attr = nil
	case atom.Font, atom.Details, atom.Summary:
		// No Teams equivalent: the content stays, in a plain <span> or <div>.
		if n.DataAtom == atom.Font {
			n.Data, n.DataAtom = "span", atom.Span
		} else {
			n.Data, n.DataAtom = "div", atom.Div
		}
		n.Attr = nil
	case atom.Del:
		n.Data, n.DataAtom = "s", atom.S
	case atom.Code:
		// Teams shows a <pre> as a code block; a language class means
		// nothing to it.
		if n.Parent != nil && n.Parent.DataAtom == atom.Pre {
			parent := n.Parent
			for ch := n.FirstChild; ch != nil; ch = n.FirstChild {
				n.RemoveChild(ch)
				parent.InsertBefore(ch, n)
			}
			parent.RemoveChild(n)
			return
		}
		n.Attr = nil
	case atom.Ol:
		n.Attr = keepAttrs(n.Attr, "start")
	default:
		n.Attr = nil
	}
	c.teamsChildren(n)
}

func teamsMentionNode(m RemoteMention) *xhtml.Node {
	span := &xhtml.Node{Type: xhtml.ElementNode, Data: "span", DataAtom: atom.Span, Attr: []xhtml.Attribute{
		{Key: "itemscope", Val: ""}, {Key: "itemtype", Val: MentionSchema}, {Key: "itemid", Val: strconv.Itoa(m.ItemID)},
	}}
	span.AppendChild(textNode(m.DisplayName))
	return span
}

// TeamsMentionsJSON is the properties.mentions value (a JSON string on the
// wire) for an outgoing message's mentions.
func TeamsMentionsJSON(mentions []RemoteMention) string {
	type entry struct {
		Type        string `json:"@type"`
		ItemID      int    `json:"itemid"`
		MRI         string `json:"mri"`
		MentionType string `json:"mentionType"`
		DisplayName string `json:"displayName"`
	}
	list := make([]entry, len(mentions))
	for i, m := range mentions {
		list[i] = entry{Type: MentionSchema, ItemID: m.ItemID, MRI: m.UserID, MentionType: firstNonEmpty(m.MentionType, "person"), DisplayName: m.DisplayName}
	}
	enc, _ := json.Marshal(list)
	return string(enc)
}

// TeamsReplyHTML is the Reply blockquote a Teams chat message starts with
// when it replies to q.
func TeamsReplyHTML(q Quote) string {
	return `<blockquote itemscope="" itemtype="` + ReplySchema + `" itemid="` + html.EscapeString(q.MessageID) + `">` +
		`<strong itemprop="mri" itemid="` + html.EscapeString(q.AuthorID) + `">` + html.EscapeString(q.AuthorName) + `</strong>` +
		`<span itemprop="time" itemid="` + html.EscapeString(q.MessageID) + `"></span>` +
		`<p itemprop="preview">` + PlainToHTML(q.Text) + `</p></blockquote>`
}

// SkypeQuote is the <quote> a Skype message starts with when it replies to
// q, with the legacy lines older clients show ("[HH:MM:SS] Name: " and the
// closing "<<<"; the date is added when q is not from now's day, UTC).
func SkypeQuote(q Quote, now time.Time) string {
	var b strings.Builder
	b.WriteString(`<quote author="` + html.EscapeString(strings.TrimPrefix(q.AuthorID, "8:")) + `"`)
	b.WriteString(` authorname="` + html.EscapeString(q.AuthorName) + `"`)
	if q.Conversation != "" {
		b.WriteString(` conversation="` + html.EscapeString(strings.TrimPrefix(q.Conversation, "8:")) + `"`)
	}
	t := q.Time.UTC()
	if q.Time.IsZero() {
		t = now.UTC()
	}
	b.WriteString(` timestamp="` + strconv.FormatInt(t.Unix(), 10) + `"`)
	if q.MessageID != "" {
		b.WriteString(` messageid="` + html.EscapeString(q.MessageID) + `"`)
	}
	layout := "15:04:05"
	if ny, nm, nd := now.UTC().Date(); ny != t.Year() || nm != t.Month() || nd != t.Day() {
		layout = "02/01/2006 15:04:05"
	}
	fmt.Fprintf(&b, `><legacyquote>[%s] %s: </legacyquote>%s<legacyquote>`+"\n\n"+`&lt;&lt;&lt; </legacyquote></quote>`,
		t.Format(layout), skypeEscape(firstNonEmpty(q.AuthorName, q.AuthorID)), skypeEscape(q.Text))
	return b.String()
}

// skypeParser renders Matrix HTML as Skype RichText: the few tags Skype
// shows (each with the raw_pre/raw_post marks its clients write), pills as
// <at id> mentions, literal line breaks, and everything else in the text
// forms format.HTMLParser gives lists, quotes and headings.
func (c *fromMatrix) skypeParser() *format.HTMLParser {
	wrap := func(tag, mark string) format.TextConverter {
		return func(s string, _ format.Context) string {
			return `<` + tag + ` raw_pre="` + mark + `" raw_post="` + mark + `">` + s + `</` + tag + `>`
		}
	}
	code := func(s string, _ format.Context) string {
		return `<pre raw_pre="{code}" raw_post="{code}">` + strings.TrimSuffix(s, "\n") + `</pre>`
	}
	return &format.HTMLParser{
		TabsToSpaces:   4,
		Newline:        "\n",
		HorizontalLine: "\n---\n",
		TextConverter: func(s string, ctx format.Context) string {
			s = skypeEscape(s)
			if c.room && !ctx.TagStack.Has("pre") && !ctx.TagStack.Has("code") && strings.Contains(s, "@room") {
				c.everyone = true
				s = strings.ReplaceAll(s, "@room", `<at id="*">all</at>`)
			}
			return s
		},
		BoldConverter:          wrap("b", "*"),
		ItalicConverter:        wrap("i", "_"),
		StrikethroughConverter: wrap("s", "~"),
		MonospaceConverter:     code,
		MonospaceBlockConverter: func(s, _ string, ctx format.Context) string {
			return code(s, ctx)
		},
		SpoilerConverter: func(s, _ string, _ format.Context) string { return "||" + s + "||" },
		ColorConverter: func(s, fg, _ string, _ format.Context) string {
			if fg == "" || !colour.MatchString(fg) {
				return s
			}
			return `<font color="` + html.EscapeString(fg) + `">` + s + `</font>`
		},
		ImageConverter: func(_, alt, title, _, _ string, _ bool) string {
			return skypeEscape(firstNonEmpty(alt, title))
		},
		LinkConverter: func(s, href string, _ format.Context) string {
			link := `<a href="` + html.EscapeString(href) + `">` + skypeEscape(href) + `</a>`
			shown := html.UnescapeString(s)
			if shown == href || shown == strings.TrimPrefix(href, "mailto:") || strings.TrimSpace(shown) == "" {
				return link
			}
			// Skype refuses links whose text is another address
			// ("BlockedContent"), so the address is always what shows.
			return s + " (" + link + ")"
		},
		PillConverter: func(shown, mxid, eventID string, ctx format.Context) string {
			if m, ok := c.mention(mxid, html.UnescapeString(shown)); ok {
				return `<at id="` + html.EscapeString(m.UserID) + `">` + skypeEscape(m.DisplayName) + `</at>`
			}
			if mxid != "" && mxid[0] == '@' {
				return firstNonEmpty(shown, skypeEscape(mxid))
			}
			// Links to rooms and events: the matrix.to address, as a link.
			uri := "https://matrix.to/#/" + mxid
			if eventID != "" {
				uri += "/" + eventID
			}
			if mxid != "" && mxid[0] == '#' && (shown == mxid || shown == "") {
				return skypeEscape(mxid)
			}
			return firstNonEmpty(shown, skypeEscape(mxid)) + ` (<a href="` + html.EscapeString(uri) + `">` + skypeEscape(uri) + `</a>)`
		},
	}
}

var skypeEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// skypeEscape escapes text for Skype RichText, where only &, < and > mean
// markup.
func skypeEscape(s string) string { return skypeEscaper.Replace(s) }

func keepAttrs(attrs []xhtml.Attribute, keys ...string) []xhtml.Attribute {
	var out []xhtml.Attribute
	for _, a := range attrs {
		for _, k := range keys {
			if a.Key == k {
				out = append(out, a)
			}
		}
	}
	return out
}

func hasAttr(n *xhtml.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
