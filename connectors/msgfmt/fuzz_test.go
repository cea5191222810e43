package msgfmt

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// ghostResolver stands for every remote user with a ghost whose localpart
// encodes the MRI, as a connector does, so fuzzed IDs make real pills.
var ghostResolver = ResolverFunc(func(_ context.Context, remoteID string) (id.UserID, string, bool) {
	if remoteID == "" {
		return "", "", false
	}
	return id.NewUserID("ghost_"+id.EncodeUserLocalpart(remoteID), "example.org"), "Ghost " + remoteID, true
})

// ghostFormatter is the reverse of ghostResolver, and names Matrix users of
// other servers as nobody.
var ghostFormatter = FormatterFunc(func(_ context.Context, userID id.UserID) (string, string, bool) {
	localpart, server, err := userID.Parse()
	if err != nil || server != "example.org" || !strings.HasPrefix(localpart, "ghost_") {
		return "", "", false
	}
	mri, err := id.DecodeUserLocalpart(strings.TrimPrefix(localpart, "ghost_"))
	if err != nil || mri == "" {
		return "", "", false
	}
	return mri, "Ghost " + mri, true
})

var toMatrixSeeds = []string{
	`<p>hi</p>`, `<b>x</b>`, "line\nbreak", `<script>alert(1)</script>`, `<a href="javascript:x">x</a>`,
	`<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane</span>`,
	`<span itemtype="http://schema.skype.com/Mention" itemid="0">Ja</span> <span itemtype="http://schema.skype.com/Mention" itemid="1">ne</span>`,
	`<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1618133509362"><strong itemprop="mri" itemid="8:orgid:bob">Bob</strong><span itemprop="time" itemid="1618133509362"></span><p itemprop="preview">q</p></blockquote>a`,
	`<img itemtype="http://schema.skype.com/Emoji" alt="🙂" src="https://x/y.png">`,
	"<quote author=\"joe.4\" authorname=\"Joe\" timestamp=\"1451606400\"><legacyquote>[12:00:00] Joe: </legacyquote>q<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>a",
	`<at id="8:live:joe.4">Joe</at>`, `<at id="*">all</at>`, `<ss type="smile">:)</ss>`, `<ss type="x">`,
	`<b raw_pre="*" raw_post="*">b</b><pre raw_pre="{code}" raw_post="{code}">c` + "\n" + `d</pre>`,
	`Edited previous message: x<e_m ts="1" ts_ms="1" a="x" t="61"/>`, `<codeblock class="go"><code>x</code></codeblock>`,
	`<a href="https://matrix.to/#/@admin:example.org">admin</a>`, `<quote><quote>x</quote></quote>`, `<A HREF="HTTPS://MATRIX.TO/#/@ADMIN:X.ORG">a</A>`,
	`<svg><at id="8:x">hidden</at></svg><textarea><at id="8:y">t</at></textarea>`,
	strings.Repeat("<b>", 600) + "deep", "\x00\x01\r\n", `<p><table><td>x</p>`, `<pre><at id="8:x">y</at></pre>`,
}

// checkInbound is what every ToMatrix result must satisfy: Matrix-safe,
// stable HTML; no control characters; a body whenever the HTML shows text;
// and exactly the users the pills name in m.mentions.
func checkInbound(in string, got *Inbound) error {
	c := got.Content
	if err := checkMatrixSafe(c.FormattedBody); err != nil {
		return fmt.Errorf("unsafe formatted_body: %w", err)
	}
	if c.FormattedBody != "" && SanitizeHTML(c.FormattedBody) != c.FormattedBody {
		return fmt.Errorf("formatted_body is not stable under the sanitizer")
	}
	if (c.Format == event.FormatHTML) != (c.FormattedBody != "") {
		return fmt.Errorf("format %q with formatted_body %q", c.Format, c.FormattedBody)
	}
	for _, s := range []string{c.Body, c.FormattedBody} {
		if strings.ContainsFunc(s, isStrippedControl) || strings.Contains(s, "\r") {
			return fmt.Errorf("control character in %q", s)
		}
	}
	if c.Body == "" && strings.TrimSpace(textOfHTML(c.FormattedBody)) != "" {
		return fmt.Errorf("empty body for formatted_body %q", c.FormattedBody)
	}
	if c.Mentions == nil {
		return fmt.Errorf("m.mentions not set")
	}
	pills := pillUsers(c.FormattedBody)
	for _, u := range pills {
		if !validUserID(u) {
			return fmt.Errorf("pill for invalid user %q", u)
		}
	}
	// Anything a client could take for a pill counts, whatever its case.
	if lower := pillUsers(strings.ToLower(c.FormattedBody)); len(lower) != len(pills) {
		return fmt.Errorf("%d case-blind pills but %d pills", len(lower), len(pills))
	}
	got1, want := slices.Clone(c.Mentions.UserIDs), pills
	slices.Sort(got1)
	slices.Sort(want)
	if !slices.Equal(got1, slices.Compact(want)) {
		return fmt.Errorf("m.mentions %v but pills for %v", c.Mentions.UserIDs, pills)
	}
	if q := got.Quote; q != nil && strings.ContainsFunc(q.Text+q.AuthorName+q.AuthorID+q.MessageID, isStrippedControl) {
		return fmt.Errorf("control character in quote %+v", q)
	}
	return nil
}

func FuzzToMatrixTeams(f *testing.F) {
	for _, s := range toMatrixSeeds {
		f.Add(s, "8:orgid:jane")
	}
	f.Add(`<span itemtype="http://schema.skype.com/Mention" itemid="0">x</span>`, `"><script>alert(1)</script>`)
	f.Add(`<span itemtype="http://schema.skype.com/Mention" itemid="0">x</span>`, "")
	f.Fuzz(func(t *testing.T, content, mri string) {
		mentions := []RemoteMention{{ItemID: 0, UserID: mri}, {ItemID: 1, UserID: "8:orgid:jane"}}
		got := ToMatrix(context.Background(), Remote{Content: content, Mentions: mentions}, Teams, ghostResolver)
		if err := checkInbound(content, got); err != nil {
			t.Fatalf("%v\n in   %q\n body %q\n html %q", err, content, got.Content.Body, got.Content.FormattedBody)
		}
		if err := checkInbound(content, &Inbound{Content: got.WithQuote()}); err != nil && got.Quote != nil {
			t.Fatalf("WithQuote: %v\n in %q", err, content)
		}
	})
}

// FuzzTeamsContent (formerly chatsvc's FuzzParseContent): mention spans
// only ever become pills for the users properties.mentions names, plain
// text never yields markup, and every inline image names an AMS object
// that is in the body.
func FuzzTeamsContent(f *testing.F) {
	for _, seed := range []string{
		`<p>Hello <b>world</b></p>`,
		`<p><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane Doe</span> hi</p>`,
		`<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1"><strong itemprop="mri" itemid="8:orgid:a">A</strong><span itemprop="time" itemid="1"></span><p itemprop="preview">q</p></blockquote><p>r</p>`,
		`<quote author="joe.4" authorname="Joe" timestamp="1"><legacyquote>[1] Joe: </legacyquote>x</quote>`,
		`hey <at id="8:anna.7">Anna</at><e_m ts="1" ts_ms="1" a="f" t="61"/>`,
		`<img itemtype="http://schema.skype.com/Emoji" alt="🙂"><img src="https://h/v1/objects/0-x/views/imgo">`,
		`<p><img itemscope="image" src="https://as-api.asm.skype.com/v1/objects/0-weu-d1-abc/views/imgo" itemtype="http://schema.skype.com/AMSImage" id="0-weu-d1-abc" itemid="0-weu-d1-abc"></p>`,
		`<span itemtype="http://schema.skype.com/Mention" itemid="x"><span itemtype="http://schema.skype.com/Mention" itemid="1">n</span></span>`,
		`<<<>>>&&&<blockquote itemtype="http://schema.skype.com/Reply"`,
	} {
		f.Add(seed, false, "8:orgid:j", "8:x")
	}
	f.Add("a<b", true, "", "")
	f.Fuzz(func(t *testing.T, content string, plain bool, mri0, mri1 string) {
		mentions := []RemoteMention{{ItemID: 0, UserID: mri0}, {ItemID: 1, UserID: mri1}}
		got := ToMatrix(context.Background(), Remote{Content: content, Plain: plain, Mentions: mentions}, Teams, ghostResolver)
		// Skype-style <at id> tags carry their MRI inline; the check is
		// about the span→property link.
		skypeTags := strings.Contains(strings.ToLower(content), "<at")
		for _, u := range got.Content.Mentions.UserIDs {
			if skypeTags {
				break
			}
			named := false
			for _, m := range mentions {
				if mx, _, ok := ghostResolver(context.Background(), m.UserID); ok && mx == u {
					named = true
				}
			}
			if !named {
				t.Fatalf("pill for %s, whom the mentions property does not name", u)
			}
		}
		if plain && (got.Content.FormattedBody != "" || len(got.Images) > 0) {
			t.Fatalf("plain text produced markup %q or images %+v", got.Content.FormattedBody, got.Images)
		}
		for _, img := range got.Images {
			if img.ObjectID == "" || !strings.Contains(content, img.ObjectID) && !strings.Contains(html.UnescapeString(content), img.ObjectID) {
				t.Fatalf("image %+v names no object of the body", img)
			}
		}
	})
}

func FuzzToMatrixSkype(f *testing.F) {
	for _, s := range toMatrixSeeds {
		f.Add(s, uint8(0))
	}
	f.Add("Fred &amp; Co waves", uint8(9))
	f.Add("Fred <b>x</b>", uint8(8))
	f.Fuzz(func(t *testing.T, content string, emoteOffset uint8) {
		got := ToMatrix(context.Background(), Remote{Content: content, EmoteOffset: int(emoteOffset)}, Skype, ghostResolver)
		if err := checkInbound(content, got); err != nil {
			t.Fatalf("%v\n in   %q\n body %q\n html %q", err, content, got.Content.Body, got.Content.FormattedBody)
		}
	})
}

// skypeMarkup is every tag Skype RichText output may use, with the
// attributes each may carry.
var skypeMarkup = map[string][]string{
	"b": {"raw_pre", "raw_post"}, "i": {"raw_pre", "raw_post"}, "s": {"raw_pre", "raw_post"}, "pre": {"raw_pre", "raw_post"},
	"a": {"href"}, "at": {"id"}, "font": {"color"},
	"quote": {"author", "authorname", "conversation", "timestamp", "messageid"}, "legacyquote": nil,
}

// checkOutbound checks FromMatrix's output for each dialect: Teams HTML is
// Matrix-safe once its mention spans (which must match Mentions one to one,
// numbered in order) are plain spans; Skype uses only its own tags, balanced;
// Lync's HTML is Matrix-safe; nothing carries control characters.
func checkOutbound(d Dialect, out Outbound) error {
	if strings.ContainsFunc(out.Content+out.Plain, isStrippedControl) || strings.Contains(out.Content+out.Plain, "\r") {
		return fmt.Errorf("control character in output")
	}
	for i, m := range out.Mentions {
		if m.ItemID != i || m.UserID == "" {
			return fmt.Errorf("mention %d is %+v", i, m)
		}
	}
	switch d {
	case Lync:
		if len(out.Mentions) > 0 {
			return fmt.Errorf("lync has no mentions")
		}
		return checkMatrixSafe(out.Content)
	case Teams:
		var b strings.Builder
		next := 0
		z := html.NewTokenizer(strings.NewReader(out.Content))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			raw := string(z.Raw())
			if tt == html.StartTagToken {
				if tok := z.Token(); tok.DataAtom == atom.Span && len(tok.Attr) > 0 {
					want := []html.Attribute{{Key: "itemscope"}, {Key: "itemtype", Val: MentionSchema}, {Key: "itemid", Val: strconv.Itoa(next)}}
					if !slices.Equal(tok.Attr, want) {
						return fmt.Errorf("span with attributes %v", tok.Attr)
					}
					next++
					raw = "<span>"
				}
			}
			b.WriteString(raw)
		}
		if next != len(out.Mentions) {
			return fmt.Errorf("%d mention spans for %d mentions", next, len(out.Mentions))
		}
		return checkMatrixSafe(b.String())
	case Skype:
		if strings.Contains(strings.ToLower(out.Content), "<script") {
			return fmt.Errorf("contains <script")
		}
		next := 0
		z := html.NewTokenizer(strings.NewReader(out.Content))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
				continue
			}
			tok := z.Token()
			allowed, ok := skypeMarkup[tok.Data]
			if !ok {
				return fmt.Errorf("tag <%s> is not Skype markup", tok.Data)
			}
			for _, a := range tok.Attr {
				if !slices.Contains(allowed, a.Key) {
					return fmt.Errorf("attribute %s on <%s>", a.Key, tok.Data)
				}
				if a.Key == "href" && !specHref.MatchString(strings.ToLower(a.Val)) {
					return fmt.Errorf("link to %q", a.Val)
				}
				if a.Key == "color" && !colour.MatchString(a.Val) {
					return fmt.Errorf("colour %q", a.Val)
				}
			}
			if tt == html.StartTagToken && tok.Data == "at" && tok.Attr[0].Val == "*" {
				if !out.MentionsEveryone {
					return fmt.Errorf("<at id=\"*\"> without MentionsEveryone")
				}
				continue
			}
			if tt == html.StartTagToken && tok.Data == "at" {
				if next >= len(out.Mentions) || tok.Attr[0].Val != out.Mentions[next].UserID {
					return fmt.Errorf("<at> %d does not match the mentions %v", next, out.Mentions)
				}
				next++
			}
		}
		if next != len(out.Mentions) {
			return fmt.Errorf("%d <at> tags for %d mentions", next, len(out.Mentions))
		}
		return checkBalanced(out.Content)
	}
	return fmt.Errorf("unknown dialect %v", d)
}

func FuzzFromMatrix(f *testing.F) {
	for _, s := range []string{
		`<b>x</b>`, `<a href="https://matrix.to/#/@ghost_8=3aorgid=3ajane:example.org">Jane</a> hi`,
		`<a href="matrix:u/ghost_8=3alive=3ajoe.4:example.org">Joe</a>`, `<a href="https://matrix.to/#/@carol:matrix.org">Carol</a>`,
		`<mx-reply><blockquote>old</blockquote></mx-reply>new`, `<pre><code class="language-go">x</code></pre>`,
		`<ul><li>a</li></ul><blockquote>q</blockquote>`, `<span data-mx-spoiler="why">s</span>`, `<font data-mx-color="#f00">c</font>`,
		`<script>alert(1)</script>`, `<a href="javascript:alert(1)">x</a>`, `<img src="mxc://example.org/a" alt="&lt;script&gt;">`,
		`<a href="https://evil.example">https://bank.example</a>`, strings.Repeat("<i>", 700) + "deep", "* <b>edit</b>",
	} {
		f.Add("body", s, uint8(0), "preview")
	}
	f.Add("plain < text\nline", "", uint8(1), `</p></blockquote><script>x</script>`)
	f.Fuzz(func(t *testing.T, body, formatted string, mode uint8, preview string) {
		content := &event.MessageEventContent{MsgType: event.MsgText, Body: body}
		if formatted != "" {
			content.Format, content.FormattedBody = event.FormatHTML, formatted
		}
		if mode&4 != 0 {
			content.MsgType = event.MsgEmote
		}
		if mode&16 != 0 {
			content.Mentions = &event.Mentions{Room: true}
		}
		if mode&8 != 0 {
			content.RelatesTo = &event.RelatesTo{Type: event.RelReplace, EventID: "$e"}
		}
		reply := &Quote{MessageID: preview, AuthorID: "8:" + preview, AuthorName: preview, Text: preview}
		for _, d := range []Dialect{Lync, Teams, Skype} {
			opts := OutboundOptions{SenderName: preview}
			if mode&1 != 0 {
				opts.Reply = reply
			}
			out := FromMatrix(context.Background(), content, d, ghostFormatter, opts)
			if opts.Reply != nil && d != Lync {
				// The quote must not let its text out: the message
				// comes back with the same quote, and the rest of the
				// content is what it would be without one.
				back := ToMatrix(context.Background(), Remote{Content: out.Content, Mentions: out.Mentions}, d, ghostResolver)
				sent := cleanQuote(*reply)
				if back.Quote == nil || back.Quote.MessageID != strings.TrimSpace(sent.MessageID) {
					t.Fatalf("%s: reply quote came back as %+v\n out %q", d, back.Quote, out.Content)
				}
				prefix := TeamsReplyHTML(sent)
				if d == Skype {
					prefix = out.Content[:strings.Index(out.Content, "</quote>")+len("</quote>")]
				}
				rest, ok := strings.CutPrefix(out.Content, prefix)
				if !ok {
					t.Fatalf("%s: content does not start with its quote: %q", d, out.Content)
				}
				out.Content = rest
			}
			if err := checkOutbound(d, out); err != nil {
				t.Fatalf("%s: %v\n body %q\n html %q\n out  %q", d, err, body, formatted, out.Content)
			}
			if d == Skype && mode&4 != 0 {
				// The emote offset covers exactly the name prefix.
				name := strings.TrimSpace(stripControls(preview))
				if name == "" {
					name = "/me"
				}
				if want := utf8.RuneCountInString(name) + 1; out.EmoteOffset != want {
					t.Fatalf("emote offset %d for name %q", out.EmoteOffset, name)
				}
				if !strings.HasPrefix(html.UnescapeString(out.Content), name+" ") && opts.Reply == nil {
					t.Fatalf("emote %q does not start with %q", out.Content, name)
				}
			}
			if strings.TrimSpace(stripControls(body)) != "" && out.Plain == "" {
				t.Fatalf("%s: empty plain text for body %q", d, body)
			}
		}
	})
}
