package msgfmt

import (
	"context"
	"html"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Schema URLs Teams (and Skype-lineage) HTML carries in itemtype.
const (
	MentionSchema = "http://schema.skype.com/Mention"
	ReplySchema   = "http://schema.skype.com/Reply"
	EmojiSchema   = "http://schema.skype.com/Emoji"
	// AMSImageSchema marks an inline image stored in AMS (Teams' file
	// service), which Matrix clients cannot load: it becomes a media part.
	AMSImageSchema = "http://schema.skype.com/AMSImage"
)

// Inbound is a remote message converted for Matrix.
type Inbound struct {
	// Content is the m.text content: body (never empty when the message
	// has text), formatted_body when the message has formatting, and
	// m.mentions naming exactly the users its pills point at (always set,
	// so that nobody else is pinged, whatever the HTML says).
	Content *event.MessageEventContent
	// Quote is the message this one replies to, taken out of Content so it
	// is not shown twice. The connector makes the event a Matrix reply to
	// Quote.MessageID when it has bridged that message, and otherwise sends
	// WithQuote() so that the quoted text is not lost.
	Quote *Quote
	// Images are the inline AMS images of the body, in order. The HTML
	// cannot show them (their src is no mxc:// URI and needs the account's
	// credentials), so the connector downloads each and sends it as an
	// image of its own.
	Images []InlineImage
}

// InlineImage is an <img> of a remote body that points at an AMS object.
type InlineImage struct {
	// ObjectID is the AMS object id (itemid or id attribute, else taken
	// from the /v1/objects/<id>/ path of src); never empty.
	ObjectID string
	Src      string
	Alt      string
}

// WithQuote returns Content with the quote written in front of it as a
// blockquote, for when the quoted message cannot be replied to (it was never
// bridged, or the quote names no message). Without a quote it is Content.
func (in *Inbound) WithQuote() *event.MessageEventContent {
	if in.Quote == nil {
		return in.Content
	}
	q := in.Quote
	who := firstNonEmpty(q.AuthorName, q.AuthorID)
	if who == "" && strings.TrimSpace(q.Text) == "" {
		return in.Content
	}
	out := *in.Content
	formatted := out.FormattedBody
	if out.Format != event.FormatHTML {
		formatted = PlainToHTML(out.Body)
	}
	var head strings.Builder
	head.WriteString("<blockquote>")
	if who != "" {
		head.WriteString("<b>" + html.EscapeString(who) + "</b><br>")
	}
	head.WriteString(PlainToHTML(q.Text) + "</blockquote>")
	out.Format = event.FormatHTML
	out.FormattedBody = head.String() + formatted
	var body strings.Builder
	lines := strings.Split(q.Text, "\n")
	if who != "" {
		lines = append([]string{who + ":"}, lines...)
	}
	for _, l := range lines {
		body.WriteString("> " + l + "\n")
	}
	out.Body = strings.TrimRight(body.String()+"\n"+out.Body, "\n")
	return &out
}

// ToMatrix converts a remote message body to Matrix content. The remote
// HTML is untrusted: the dialect's own elements are mapped first (mentions
// to pills through r, emoji and emoticons to Unicode, the reply quote to
// Inbound.Quote, Skype's literal line breaks to <br>), then SanitizeHTML
// keeps only what the Matrix spec allows, and the plain body is rendered
// from the result. r may be nil: every mention then stays text.
func ToMatrix(ctx context.Context, in Remote, d Dialect, r MentionResolver) *Inbound {
	raw := stripControls(in.Content)
	if d == Skype || d == Teams {
		raw = stripEditMarker(raw)
	}
	emote := false
	if in.EmoteOffset > 0 && d != Lync {
		if rest, ok := cutTextPrefix(raw, in.EmoteOffset); ok {
			raw, emote = strings.TrimLeft(rest, " "), true
		}
	}
	msgType := event.MsgText
	if emote {
		msgType = event.MsgEmote
	}
	if in.Plain {
		text := raw
		if d != Lync {
			text = html.UnescapeString(text)
		}
		text = strings.TrimRight(strings.Trim(text, "\n"), " \t\n")
		return &Inbound{Content: &event.MessageEventContent{MsgType: msgType, Body: text, Mentions: &event.Mentions{}}}
	}
	c := &toMatrix{ctx: ctx, dialect: d, resolver: r, byItem: map[int]RemoteMention{}, pills: map[*xhtml.Node]id.UserID{}}
	for _, m := range in.Mentions {
		if _, dup := c.byItem[m.ItemID]; !dup {
			c.byItem[m.ItemID] = m
		}
	}
	var rendered string
	if root := parseFragment(raw); root != nil {
		c.children(root, false)
		rendered = renderChildren(root)
	} else {
		// Only markup beyond what an HTML parser takes gets here; its text
		// is all that is kept.
		rendered = html.EscapeString(textOfHTML(raw))
	}
	// Names from the resolver join the text here, so controls go again.
	safe := strings.TrimSpace(SanitizeHTML(stripControls(rendered)))
	body := renderPlain(ctx, plainParser, safe)
	if body == "" {
		body = strings.TrimSpace(stripControls(textOfHTML(safe)))
	}
	// Only users whose pills survived sanitising are mentioned: a mention
	// inside something the sanitiser drops (<svg>, <textarea>) must not
	// ping anyone unseen.
	shown := pillUsers(safe)
	var mentioned []id.UserID
	for _, u := range c.mentioned {
		if containsUser(shown, u) {
			mentioned = append(mentioned, u)
		}
	}
	content := &event.MessageEventContent{MsgType: msgType, Body: body, Mentions: &event.Mentions{UserIDs: mentioned, Room: c.room}}
	if !IsTrivialHTML(safe) {
		content.Format = event.FormatHTML
		content.FormattedBody = safe
	}
	return &Inbound{Content: content, Quote: c.quote, Images: c.images}
}

type toMatrix struct {
	ctx       context.Context
	dialect   Dialect
	resolver  MentionResolver
	byItem    map[int]RemoteMention
	pills     map[*xhtml.Node]id.UserID
	mentioned []id.UserID
	room      bool
	quote     *Quote
	images    []InlineImage
}

// children maps the dialect's elements among n's children, in place. inPre
// says n is inside a <pre>, where Skype's line breaks are already kept.
func (c *toMatrix) children(n *xhtml.Node, inPre bool) {
	for ch := n.FirstChild; ch != nil; {
		next := ch.NextSibling
		c.node(ch, inPre)
		ch = next
	}
	c.mergePills(n)
}

func (c *toMatrix) node(n *xhtml.Node, inPre bool) {
	switch n.Type {
	case xhtml.TextNode:
		if c.dialect == Skype && !inPre && strings.Contains(n.Data, "\n") {
			lines := strings.Split(n.Data, "\n")
			for i, l := range lines {
				if i > 0 {
					n.Parent.InsertBefore(&xhtml.Node{Type: xhtml.ElementNode, Data: "br", DataAtom: atom.Br}, n)
				}
				if l != "" {
					n.Parent.InsertBefore(&xhtml.Node{Type: xhtml.TextNode, Data: l}, n)
				}
			}
			n.Parent.RemoveChild(n)
		}
		return
	case xhtml.ElementNode:
	default:
		return
	}
	itemtype := attr(n, "itemtype")
	if c.dialect == Lync {
		// Lync has no mention, emoji or quote markup of its own.
		itemtype = ""
	}
	remote := c.dialect != Lync
	switch {
	case n.DataAtom == atom.Blockquote && strings.EqualFold(itemtype, ReplySchema):
		c.takeQuote(n, teamsQuote(n))
		return
	case remote && n.Data == "quote":
		c.takeQuote(n, skypeQuote(n))
		return
	case strings.EqualFold(itemtype, MentionSchema):
		var remoteID string
		if item, err := strconv.Atoi(strings.TrimSpace(attr(n, "itemid"))); err == nil {
			if m, ok := c.byItem[item]; ok {
				remoteID = m.UserID
			}
		}
		replace(n, c.pill(remoteID, textOf(n)))
		return
	case remote && n.Data == "at":
		if strings.TrimSpace(attr(n, "id")) == "*" {
			c.room = true
			replace(n, textNode(textOf(n)))
			return
		}
		replace(n, c.pill(strings.TrimSpace(attr(n, "id")), textOf(n)))
		return
	case n.DataAtom == atom.Img && strings.EqualFold(itemtype, EmojiSchema):
		alt := attr(n, "alt")
		if alt == "" {
			alt = emoticonOrCode(attr(n, "itemid"), "")
		}
		replace(n, textNode(alt))
		return
	case remote && n.DataAtom == atom.Img:
		if img, ok := amsImage(n); ok {
			// Shown as a media part of its own, not in the text.
			c.images = append(c.images, img)
			n.Parent.RemoveChild(n)
			return
		}
	case remote && n.Data == "ss":
		replace(n, textNode(emoticonOrCode(attr(n, "type"), textOf(n))))
		return
	case remote && (n.Data == "e_m" || n.Data == "legacyquote"):
		n.Parent.RemoveChild(n)
		return
	case remote && n.Data == "codeblock":
		// Newer Teams clients send code blocks as <codeblock class="lang">.
		pre := &xhtml.Node{Type: xhtml.ElementNode, Data: "pre", DataAtom: atom.Pre}
		code := &xhtml.Node{Type: xhtml.ElementNode, Data: "code", DataAtom: atom.Code}
		if lang := codeLanguageOf(attr(n, "class")); lang != "" {
			code.Attr = []xhtml.Attribute{{Key: "class", Val: "language-" + lang}}
		}
		pre.AppendChild(code)
		n.Parent.InsertBefore(pre, n)
		n.Parent.RemoveChild(n)
		moveChildren(n, code)
		if inner := code.FirstChild; inner != nil && inner == code.LastChild && inner.DataAtom == atom.Code {
			code.RemoveChild(inner)
			moveChildren(inner, code)
		}
		c.children(code, true)
		return
	case n.DataAtom == atom.Strike:
		n.Data, n.DataAtom = "s", atom.S
	case n.DataAtom == atom.Ins:
		n.Data, n.DataAtom = "u", atom.U
	case n.DataAtom == atom.A:
		// A link to a Matrix user in remote HTML was not made by the
		// bridge: it would show as a pill for whoever it names. Keep the
		// text, and the address when the text is something else.
		// (Matched case-blind: clients read MATRIX.TO links as pills too.)
		href := strings.TrimSpace(attr(n, "href"))
		if uri, err := id.ParseMatrixURIOrMatrixToURL(strings.ToLower(href)); err == nil && uri.Sigil1 == '@' {
			text := textOf(n)
			if !strings.EqualFold(strings.TrimSpace(text), string(uri.UserID())) {
				text += " (" + href + ")"
			}
			replace(n, textNode(text))
			return
		}
	}
	c.children(n, inPre || n.DataAtom == atom.Pre)
}

// takeQuote moves the first reply quote out of the message; later ones (a
// quote of a quote, or several) stay as ordinary blockquotes of their text.
func (c *toMatrix) takeQuote(n *xhtml.Node, q *Quote) {
	if c.quote == nil {
		c.quote = q
		n.Parent.RemoveChild(n)
		return
	}
	bq := &xhtml.Node{Type: xhtml.ElementNode, Data: "blockquote", DataAtom: atom.Blockquote}
	if who := firstNonEmpty(q.AuthorName, q.AuthorID); who != "" {
		b := &xhtml.Node{Type: xhtml.ElementNode, Data: "b", DataAtom: atom.B}
		b.AppendChild(textNode(who))
		bq.AppendChild(b)
		bq.AppendChild(&xhtml.Node{Type: xhtml.ElementNode, Data: "br", DataAtom: atom.Br})
	}
	for i, l := range strings.Split(q.Text, "\n") {
		if i > 0 {
			bq.AppendChild(&xhtml.Node{Type: xhtml.ElementNode, Data: "br", DataAtom: atom.Br})
		}
		bq.AppendChild(textNode(l))
	}
	replace(n, bq)
}

// pill is the Matrix pill for a remote user, or the mention's text when the
// resolver does not know them.
func (c *toMatrix) pill(remoteID, text string) *xhtml.Node {
	var userID id.UserID
	var name string
	ok := false
	if remoteID != "" && c.resolver != nil {
		userID, name, ok = c.resolver.MatrixUser(c.ctx, remoteID)
	}
	if ok && !validUserID(userID) {
		ok = false
	}
	if strings.TrimSpace(text) == "" {
		text = name
	}
	if !ok {
		return textNode(text)
	}
	if strings.TrimSpace(text) == "" {
		text = string(userID)
	}
	a := &xhtml.Node{Type: xhtml.ElementNode, Data: "a", DataAtom: atom.A,
		Attr: []xhtml.Attribute{{Key: "href", Val: userID.URI().MatrixToURL()}}}
	a.AppendChild(textNode(text))
	c.pills[a] = userID
	if !containsUser(c.mentioned, userID) {
		c.mentioned = append(c.mentioned, userID)
	}
	return a
}

// mergePills joins pills for one user that are next to each other: Teams
// clients mention "Jane Doe" as two spans, one per word, each with its own
// mentions entry for the same person.
func (c *toMatrix) mergePills(n *xhtml.Node) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		user, ok := c.pills[ch]
		if !ok {
			continue
		}
		for {
			gap := ch.NextSibling
			if gap == nil {
				break
			}
			other := gap
			sep := ""
			if gap.Type == xhtml.TextNode && strings.TrimSpace(gap.Data) == "" {
				other, sep = gap.NextSibling, " "
			}
			if other == nil || c.pills[other] != user {
				break
			}
			ch.FirstChild.Data += sep + textOf(other)
			if other != gap {
				n.RemoveChild(gap)
			}
			n.RemoveChild(other)
			delete(c.pills, other)
		}
	}
}

func teamsQuote(n *xhtml.Node) *Quote {
	q := &Quote{MessageID: strings.TrimSpace(attr(n, "itemid"))}
	var preview []string
	var walk func(*xhtml.Node)
	walk = func(ch *xhtml.Node) {
		if ch.Type == xhtml.ElementNode {
			switch attr(ch, "itemprop") {
			case "mri":
				q.AuthorID = strings.TrimSpace(attr(ch, "itemid"))
				q.AuthorName = strings.TrimSpace(textOf(ch))
				return
			case "time":
				q.Time = parseTimestamp(attr(ch, "itemid"))
				return
			case "preview":
				preview = append(preview, textOf(ch))
				return
			}
		}
		for g := ch.FirstChild; g != nil; g = g.NextSibling {
			walk(g)
		}
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		walk(ch)
	}
	q.Text = cleanQuoteText(strings.Join(preview, "\n"))
	if q.Text == "" {
		// Markup without itemprops: everything but the author line.
		q.Text = cleanQuoteText(strings.TrimPrefix(strings.TrimSpace(textOf(n)), q.AuthorName))
	}
	if n, err := strconv.ParseInt(q.MessageID, 10, 64); q.Time.IsZero() && err == nil && n >= 1e11 {
		// Teams message IDs are their arrival times in milliseconds.
		q.Time = time.UnixMilli(n).UTC()
	}
	return q
}

func skypeQuote(n *xhtml.Node) *Quote {
	q := &Quote{
		MessageID:    strings.TrimSpace(attr(n, "messageid")),
		AuthorID:     strings.TrimSpace(attr(n, "author")),
		AuthorName:   strings.TrimSpace(attr(n, "authorname")),
		Conversation: strings.TrimSpace(attr(n, "conversation")),
		Time:         parseTimestamp(attr(n, "timestamp")),
	}
	if q.AuthorID != "" && !mriType.MatchString(q.AuthorID) {
		// Skype writes the author's Skype name (joe.4, live:joe.4),
		// which is the MRI without its 8: type.
		q.AuthorID = "8:" + q.AuthorID
	}
	q.Text = cleanQuoteText(textOf(n))
	return q
}

// amsImage reads an inline image that is an AMS object: marked with the
// AMSImage itemtype, or with an AMS object URL as its src.
func amsImage(n *xhtml.Node) (InlineImage, bool) {
	img := InlineImage{Src: strings.TrimSpace(attr(n, "src")), Alt: attr(n, "alt")}
	fromSrc := amsObjectFromURL(img.Src)
	if !strings.EqualFold(attr(n, "itemtype"), AMSImageSchema) && fromSrc == "" {
		return img, false
	}
	img.ObjectID = strings.TrimSpace(firstNonEmpty(attr(n, "itemid"), attr(n, "id"), fromSrc))
	return img, img.ObjectID != ""
}

// amsObjectFromURL is the object id of an AMS URL
// (https://<ams>/v1/objects/<id>/views/imgo), or "".
func amsObjectFromURL(src string) string {
	_, rest, ok := strings.Cut(src, "/v1/objects/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	id, _, _ = strings.Cut(id, "?")
	return id
}

// cutTextPrefix removes the first n characters of text from the start of
// HTML (an entity is one character), provided no markup comes first.
func cutTextPrefix(s string, n int) (string, bool) {
	i := 0
	for ; n > 0; n-- {
		if i >= len(s) || s[i] == '<' {
			return s, false
		}
		if s[i] == '&' {
			if end := strings.IndexByte(s[i:], ';'); end > 0 && html.UnescapeString(s[i:i+end+1]) != s[i:i+end+1] {
				i += end + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[i:], true
}

// mriType matches the type prefix of an MRI (8:, 28:, 19:...).
var mriType = regexp.MustCompile(`^[0-9]+:`)

func cleanQuoteText(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// parseTimestamp reads a Unix time in seconds (Skype) or milliseconds (Teams
// message IDs); anything else is the zero time.
func parseTimestamp(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case err != nil || n <= 0:
		return time.Time{}
	case n >= 1e11:
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

// emoticonOrCode is the Unicode emoji for a Skype/Teams emoticon ID, or the
// text the sender typed (":)"), or the ID in Skype's own "(smile)" form.
func emoticonOrCode(emoticonID, typed string) string {
	if e, ok := EmoticonUnicode(emoticonID); ok {
		return e
	}
	if strings.TrimSpace(typed) != "" {
		return typed
	}
	if emoticonID = strings.TrimSpace(emoticonID); emoticonID != "" {
		return "(" + emoticonID + ")"
	}
	return ""
}

// editMarker matches Skype's edit marker, <e_m .../>, and the "Edited
// previous message: " text some clients put before an edit.
var editMarker = regexp.MustCompile(`(?is)^\s*Edited previous message:\s*|<e_m\b[^>]*?(/>|>\s*</e_m>)`)

func stripEditMarker(s string) string {
	return editMarker.ReplaceAllString(s, "")
}

func codeLanguageOf(class string) string {
	for _, f := range strings.Fields(class) {
		f = strings.ToLower(strings.TrimPrefix(f, "language-"))
		if codeLanguage.MatchString("language-" + f) {
			return f
		}
	}
	return ""
}

// parseFragment parses HTML as the content of a <div>, under a root <div>
// node, or returns nil when the parser refuses it.
func parseFragment(s string) *xhtml.Node {
	ctxNode := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := xhtml.ParseFragment(strings.NewReader(limitDepth(s, maxDepth)), ctxNode)
	if err != nil {
		return nil
	}
	root := &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	return root
}

func renderChildren(n *xhtml.Node) string {
	var sb strings.Builder
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		_ = xhtml.Render(&sb, ch)
	}
	return sb.String()
}

// pillUsers lists the users that links in Matrix HTML are pills for.
func pillUsers(s string) []id.UserID {
	var users []id.UserID
	z := xhtml.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return users
		case xhtml.StartTagToken:
			tok := z.Token()
			if tok.DataAtom != atom.A {
				continue
			}
			for _, a := range tok.Attr {
				if uri, err := id.ParseMatrixURIOrMatrixToURL(a.Val); a.Key == "href" && err == nil && uri.Sigil1 == '@' {
					users = append(users, uri.UserID())
				}
			}
		}
	}
}

// textOfHTML is the text of HTML as its tokenizer sees it, markup dropped.
func textOfHTML(s string) string {
	z := xhtml.NewTokenizer(strings.NewReader(s))
	var sb strings.Builder
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return sb.String()
		case xhtml.TextToken:
			sb.Write(z.Text())
		}
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// textOf is the visible text of a subtree: <br> as a line break, images as
// their alt text, Skype's legacy quote lines left out.
func textOf(n *xhtml.Node) string {
	var sb strings.Builder
	var walk func(*xhtml.Node)
	walk = func(ch *xhtml.Node) {
		switch ch.Type {
		case xhtml.TextNode:
			sb.WriteString(ch.Data)
		case xhtml.ElementNode:
			switch ch.Data {
			case "br":
				sb.WriteString("\n")
			case "img":
				sb.WriteString(attr(ch, "alt"))
			case "legacyquote", "e_m", "script", "style":
				return
			}
		}
		for g := ch.FirstChild; g != nil; g = g.NextSibling {
			walk(g)
		}
	}
	walk(n)
	return sb.String()
}

// validUserID accepts user IDs the spec allows, historical localparts
// included (printable ASCII), that a matrix.to pill can carry, so a
// resolver's mistake cannot put anything else in a pill.
func validUserID(u id.UserID) bool {
	localpart, _, err := u.ParseAndValidateRelaxed()
	if err != nil || localpart == "" {
		return false
	}
	for i := 0; i < len(localpart); i++ {
		if localpart[i] < 0x21 || localpart[i] > 0x7e {
			return false
		}
	}
	// The pill must read back as the same user, or clients would not
	// show it as one (nor would m.mentions match it).
	uri, err := id.ParseMatrixURIOrMatrixToURL(u.URI().MatrixToURL())
	return err == nil && uri.UserID() == u
}

func textNode(s string) *xhtml.Node { return &xhtml.Node{Type: xhtml.TextNode, Data: s} }

func replace(old, with *xhtml.Node) {
	old.Parent.InsertBefore(with, old)
	old.Parent.RemoveChild(old)
}

func moveChildren(from, to *xhtml.Node) {
	for ch := from.FirstChild; ch != nil; ch = from.FirstChild {
		from.RemoveChild(ch)
		to.AppendChild(ch)
	}
}

func containsUser(list []id.UserID, u id.UserID) bool {
	for _, x := range list {
		if x == u {
			return true
		}
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
