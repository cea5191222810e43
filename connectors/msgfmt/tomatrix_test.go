package msgfmt

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// people is the test bridge's directory: remote MRI ↔ Matrix user.
var people = []struct {
	mri  string
	mxid id.UserID
	name string
}{
	{"8:orgid:jane", "@teams_jane:example.org", "Jane Doe"},
	{"8:orgid:bob", "@teams_bob:example.org", "Bob"},
	{"8:live:joe.4", "@skype_joe.4:example.org", "Joe Bloggs"},
	{"8:joe.4", "@skype_joe.4:example.org", "Joe Bloggs"},
	// The bridge user's own account stands for their real Matrix user.
	{"8:orgid:me", "@alice:example.org", "Alice"},
}

var testResolver = ResolverFunc(func(_ context.Context, remoteID string) (id.UserID, string, bool) {
	for _, p := range people {
		if p.mri == remoteID {
			return p.mxid, p.name, true
		}
	}
	return "", "", false
})

var testFormatter = FormatterFunc(func(_ context.Context, userID id.UserID) (string, string, bool) {
	for _, p := range people {
		if p.mxid == userID {
			return p.mri, p.name, true
		}
	}
	return "", "", false
})

func pill(p int) string {
	return `<a href="https://matrix.to/#/` + string(people[p].mxid) + `">`
}

type toMatrixCase struct {
	name     string
	in       Remote
	html     string // formatted_body; "" = none
	body     string
	mentions []id.UserID
	room     bool
	quote    *Quote
	msgType  event.MessageType
}

func runToMatrix(t *testing.T, d Dialect, cases []toMatrixCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ToMatrix(context.Background(), tc.in, d, testResolver)
			c := got.Content
			if c.FormattedBody != tc.html {
				t.Errorf("formatted_body\n got  %q\n want %q", c.FormattedBody, tc.html)
			}
			if (c.Format == event.FormatHTML) != (tc.html != "") {
				t.Errorf("format = %q with formatted_body %q", c.Format, c.FormattedBody)
			}
			if want := cmp.Or(tc.msgType, event.MsgText); c.MsgType != want {
				t.Errorf("msgtype %q, want %q", c.MsgType, want)
			}
			if c.Body != tc.body {
				t.Errorf("body\n got  %q\n want %q", c.Body, tc.body)
			}
			if c.Mentions == nil {
				t.Fatal("m.mentions not set")
			}
			if !slices.Equal(c.Mentions.UserIDs, tc.mentions) || c.Mentions.Room != tc.room {
				t.Errorf("m.mentions = %+v, want %v room=%v", c.Mentions, tc.mentions, tc.room)
			}
			switch {
			case tc.quote == nil && got.Quote != nil:
				t.Errorf("unexpected quote %+v", got.Quote)
			case tc.quote != nil && got.Quote == nil:
				t.Errorf("no quote, want %+v", tc.quote)
			case tc.quote != nil && *got.Quote != *tc.quote:
				t.Errorf("quote\n got  %+v\n want %+v", *got.Quote, *tc.quote)
			}
			if err := checkMatrixSafe(c.FormattedBody); err != nil {
				t.Errorf("unsafe formatted_body %q: %v", c.FormattedBody, err)
			}
		})
	}
}

func TestToMatrixTeams(t *testing.T) {
	jane := RemoteMention{ItemID: 0, UserID: "8:orgid:jane", DisplayName: "Jane Doe"}
	runToMatrix(t, Teams, []toMatrixCase{
		{name: "plain paragraph", in: Remote{Content: `<p>hello</p>`}, body: "hello"},
		{name: "bold", in: Remote{Content: `<p>a <b>b</b> <strong>s</strong></p>`},
			html: `<p>a <b>b</b> <strong>s</strong></p>`, body: "a **b** **s**"},
		{name: "italic", in: Remote{Content: `<p><i>i</i><em>e</em></p>`}, html: `<p><i>i</i><em>e</em></p>`, body: "_i__e_"},
		{name: "strike", in: Remote{Content: `<s>x</s><strike>y</strike><del>z</del>`},
			html: `<s>x</s><s>y</s><del>z</del>`, body: "~~x~~~~y~~~~z~~"},
		{name: "underline", in: Remote{Content: `<u>u</u>`}, html: `<u>u</u>`, body: "u"},
		{name: "inline code", in: Remote{Content: `<p>run <code>ls -l</code></p>`}, html: `<p>run <code>ls -l</code></p>`, body: "run `ls -l`"},
		{name: "pre code block", in: Remote{Content: `<pre>a &lt; b
  c</pre>`}, html: "<pre>a &lt; b\n  c</pre>", body: "```\na < b\n  c\n```"},
		{name: "codeblock element", in: Remote{Content: `<codeblock class="Python"><code>print(1)</code></codeblock>`},
			html: `<pre><code class="language-python">print(1)</code></pre>`, body: "```python\nprint(1)\n```"},
		{name: "lists", in: Remote{Content: `<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>`},
			html: `<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>`, body: "* one\n* two\n\n1. first"},
		{name: "link", in: Remote{Content: `<a href="https://example.com/x" title="t" target="_blank" rel="noreferrer">site</a>`},
			html: `<a href="https://example.com/x" target="_blank">site</a>`, body: "site (https://example.com/x)"},
		{name: "plain blockquote stays", in: Remote{Content: `<blockquote>wise words</blockquote>after`},
			html: `<blockquote>wise words</blockquote>after`, body: "> wise words\nafter"},
		{name: "paragraphs and breaks", in: Remote{Content: `<p>one</p><p>two<br>three</p>`}, body: "one\n\ntwo\nthree"},
		{name: "fixture emoji in span", in: Remote{Content: "<div><div>Hello everyone <span class=\"animated-emoticon-20-smile\" title=\"Smiley\" type=\"(smile)\"><img itemid=\"smile\" itemscope=\"\" itemtype=\"http://schema.skype.com/Emoji\" src=\"https://statics.teams.cdn.office.net/evergreen-assets/skype/v2/smile/20.png\" alt=\"🙂\" style=\"width:20px; height:20px\"></span></div>\n</div>"},
			body: "Hello everyone 🙂"},
		{name: "emoji without alt uses its id", in: Remote{Content: `<img itemtype="http://schema.skype.com/Emoji" itemid="heart">`}, body: "❤️"},
		{name: "unknown emoji id kept as text", in: Remote{Content: `<img itemtype="http://schema.skype.com/Emoji" itemid="blob">`}, body: "(blob)"},
		{name: "mention", in: Remote{Content: `<p>hi <span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane Doe</span>!</p>`, Mentions: []RemoteMention{jane}},
			html: `<p>hi ` + pill(0) + `Jane Doe</a>!</p>`, body: "hi Jane Doe!", mentions: []id.UserID{people[0].mxid}},
		{name: "mention split per word is one pill", in: Remote{
			Content:  `<span itemscope itemtype="http://schema.skype.com/Mention" itemid="0">Jane</span> <span itemscope itemtype="http://schema.skype.com/Mention" itemid="1">Doe</span> look`,
			Mentions: []RemoteMention{{ItemID: 0, UserID: "8:orgid:jane", DisplayName: "Jane"}, {ItemID: 1, UserID: "8:orgid:jane", DisplayName: "Doe"}}},
			html: pill(0) + `Jane Doe</a> look`, body: "Jane Doe look", mentions: []id.UserID{people[0].mxid}},
		{name: "mentions matched by itemid, not list position", in: Remote{
			Content: `<span itemtype="http://schema.skype.com/Mention" itemid="2">Bob</span> and <span itemtype="http://schema.skype.com/Mention" itemid="1">Jane</span>`,
			Mentions: []RemoteMention{
				{ItemID: 0, UserID: "19:general@thread.tacv2", DisplayName: "General", MentionType: "channel"},
				{ItemID: 1, UserID: "8:orgid:jane", DisplayName: "Jane"},
				{ItemID: 2, UserID: "8:orgid:bob", DisplayName: "Bob"}}},
			html: pill(1) + `Bob</a> and ` + pill(0) + `Jane</a>`, body: "Bob and Jane", mentions: []id.UserID{people[1].mxid, people[0].mxid}},
		{name: "channel mention stays text", in: Remote{
			Content:  `<span itemtype="http://schema.skype.com/Mention" itemid="0">General</span> news`,
			Mentions: []RemoteMention{{ItemID: 0, UserID: "19:general@thread.tacv2", MentionType: "channel"}}},
			body: "General news"},
		{name: "mention of the bridge user points at their Matrix account", in: Remote{
			Content:  `<span itemtype="http://schema.skype.com/Mention" itemid="0">Alice</span>`,
			Mentions: []RemoteMention{{ItemID: 0, UserID: "8:orgid:me"}}},
			html: `<a href="https://matrix.to/#/@alice:example.org">Alice</a>`, body: "Alice", mentions: []id.UserID{"@alice:example.org"}},
		{name: "mention without entry stays text", in: Remote{Content: `<span itemtype="http://schema.skype.com/Mention" itemid="7">Ghost</span>`, Mentions: []RemoteMention{jane}},
			body: "Ghost"},
		{name: "mention with empty text uses the resolver's name", in: Remote{Content: `<span itemtype="http://schema.skype.com/Mention" itemid="0"></span>`, Mentions: []RemoteMention{jane}},
			html: pill(0) + `Jane Doe</a>`, body: "Jane Doe", mentions: []id.UserID{people[0].mxid}},
		{name: "reply", in: Remote{Content: `<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1618133509362"><strong itemprop="mri" itemid="8:orgid:bob">Bob</strong><span itemprop="time" itemid="1618133509362"></span><p itemprop="preview">the original</p></blockquote><p>my answer</p>`},
			body: "my answer", quote: &Quote{MessageID: "1618133509362", AuthorID: "8:orgid:bob", AuthorName: "Bob", Text: "the original", Time: time.UnixMilli(1618133509362).UTC()}},
		{name: "reply without itemprops", in: Remote{Content: `<blockquote itemtype="http://schema.skype.com/Reply" itemid="17"><strong>Bob</strong> quoted words</blockquote>ok`},
			body: "ok", quote: &Quote{MessageID: "17", AuthorName: "", Text: "Bob quoted words"}},
		{name: "text only", in: Remote{Content: "a &lt; b & c", Plain: true}, body: "a < b & c"},
		{name: "nothing but controls and markup", in: Remote{Content: "<p>\x00\x01</p>"}, body: ""},
		{name: "C0 controls stripped", in: Remote{Content: "<p>a\x00b\x07c\td</p>"}, body: "abc d"},
	})
}

func TestToMatrixSkype(t *testing.T) {
	runToMatrix(t, Skype, []toMatrixCase{
		{name: "plain with line breaks", in: Remote{Content: "line 1\nline 2"}, body: "line 1\nline 2"},
		{name: "markup", in: Remote{Content: `<b raw_pre="*" raw_post="*">bold</b> <i raw_pre="_" raw_post="_">it</i> <s raw_pre="~" raw_post="~">gone</s>`},
			html: `<b>bold</b> <i>it</i> <s>gone</s>`, body: "**bold** _it_ ~~gone~~"},
		{name: "pre keeps its lines", in: Remote{Content: "<pre raw_pre=\"{code}\" raw_post=\"{code}\">x := 1\ny := 2</pre>"},
			html: "<pre>x := 1\ny := 2</pre>", body: "```\nx := 1\ny := 2\n```"},
		{name: "font colour", in: Remote{Content: `<font color="#ff0000">red</font>`}, html: `<font color="#ff0000">red</font>`, body: "red"},
		{name: "link", in: Remote{Content: `<a href="https://example.com">https://example.com</a>`},
			html: `<a href="https://example.com">https://example.com</a>`, body: "https://example.com"},
		{name: "emoticon", in: Remote{Content: `hi <ss type="smile">:)</ss>`}, body: "hi 🙂"},
		{name: "unknown emoticon keeps what was typed", in: Remote{Content: `<ss type="custom123">(custom123)</ss>`}, body: "(custom123)"},
		{name: "mention", in: Remote{Content: `<at id="8:live:joe.4">Joe Bloggs</at> look`},
			html: pill(2) + `Joe Bloggs</a> look`, body: "Joe Bloggs look", mentions: []id.UserID{people[2].mxid}},
		{name: "mention of unknown user stays text", in: Remote{Content: `<at id="8:stranger">Stranger</at>`}, body: "Stranger"},
		{name: "everyone", in: Remote{Content: `<at id="*">all</at> lunch`}, body: "all lunch", room: true},
		{name: "quote", in: Remote{Content: "<quote author=\"joe.4\" authorname=\"Joe Bloggs\" conversation=\"joe.4\" timestamp=\"1451606400\" messageid=\"1451606400000\"><legacyquote>[12:00:00] Joe Bloggs: </legacyquote>quoted text<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>my reply"},
			body: "my reply", quote: &Quote{MessageID: "1451606400000", AuthorID: "8:joe.4", AuthorName: "Joe Bloggs", Conversation: "joe.4", Text: "quoted text", Time: time.Unix(1451606400, 0).UTC()}},
		{name: "quote naming no message", in: Remote{Content: "<quote author=\"8:live:joe.4\" authorname=\"Joe\" timestamp=\"1451606400\"><legacyquote>[12:00:00] Joe: </legacyquote>old<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>new"},
			body: "new", quote: &Quote{AuthorID: "8:live:joe.4", AuthorName: "Joe", Text: "old", Time: time.Unix(1451606400, 0).UTC()}},
		{name: "edit marker", in: Remote{Content: `Edited previous message: fixed<e_m ts="1526383416" ts_ms="1526383417250" a="joe.4" t="61"/>`}, body: "fixed"},
		{name: "emote", in: Remote{Content: "Joe Bloggs waves <b>hard</b>", EmoteOffset: len("Joe Bloggs ")},
			html: "waves <b>hard</b>", body: "waves **hard**", msgType: event.MsgEmote},
		{name: "emote with an entity in the name", in: Remote{Content: "Joe &amp; Co waves", EmoteOffset: len("Joe & Co ")}, body: "waves", msgType: event.MsgEmote},
		{name: "emote offset into markup is not trusted", in: Remote{Content: "<b>Joe</b> waves", EmoteOffset: 4}, html: "<b>Joe</b> waves", body: "**Joe** waves"},
		{name: "emote offset past the end", in: Remote{Content: "hi", EmoteOffset: 10}, body: "hi"},
		{name: "text message with entities", in: Remote{Content: "1 &lt; 2 &amp; 3", Plain: true}, body: "1 < 2 & 3"},
	})
}

func TestToMatrixLync(t *testing.T) {
	runToMatrix(t, Lync, []toMatrixCase{
		{name: "SfB styled text is plain", in: Remote{Content: `<span style="font-family:Segoe UI;color:#000">hello</span>`}, body: "hello"},
		{name: "bold", in: Remote{Content: `<b>b</b>`}, html: `<b>b</b>`, body: "**b**"},
		{name: "plain part", in: Remote{Content: "hi\r\n", Plain: true}, body: "hi"},
		// Lync has no mention markup: <at> is not Lync's and stays text.
		{name: "no mentions", in: Remote{Content: `<at id="8:live:joe.4">Joe</at>`}, body: "Joe"},
	})
}

func TestToMatrixInjection(t *testing.T) {
	evil := ResolverFunc(func(_ context.Context, remoteID string) (id.UserID, string, bool) {
		// A resolver that would make a ghost out of anything: the
		// converter must still refuse IDs that are not Matrix user IDs.
		return id.UserID("@" + remoteID + ":example.org"), remoteID, true
	})
	for _, tc := range []struct {
		name, in      string
		mentions      []RemoteMention
		wantMentioned []id.UserID
		mustNotHave   []string
	}{
		{name: "script", in: `<script>alert(1)</script><p>x</p>`, mustNotHave: []string{"alert", "<script"}},
		{name: "on attributes", in: `<b onclick="x()" onmouseover="y()">b</b><img src=x onerror=alert(1)>`, mustNotHave: []string{"onclick", "onerror", "onmouseover"}},
		{name: "javascript link", in: `<a href="javascript:alert(1)">x</a><a href=" JaVaScRiPt:alert(1)">y</a>`, mustNotHave: []string{"javascript", "href"}},
		{name: "forged pill", in: `<a href="https://matrix.to/#/@admin:example.org">Admin</a><a href="HTTPS://Matrix.To/#/@admin:example.org">A</a><a href="matrix:u/admin:example.org">M</a>`,
			mustNotHave: []string{"matrix.to", "Matrix.To", "href"}},
		{name: "mention the sanitiser hides pings nobody", in: `<svg><at id="8_x">x</at></svg><textarea><at id="8_y">y</at></textarea>ok`,
			mustNotHave: []string{"href"}},
		{name: "hostile itemid", in: `<span itemtype="http://schema.skype.com/Mention" itemid="0&quot; onclick=&quot;x">Jane</span><span itemtype="http://schema.skype.com/Mention" itemid="-1">Q</span><span itemtype="http://schema.skype.com/Mention" itemid="99999999999999999999">Z</span>`,
			mentions: []RemoteMention{{ItemID: 0, UserID: "orgid_x"}, {ItemID: -1, UserID: "orgid_q"}}, wantMentioned: []id.UserID{"@orgid_q:example.org"}, mustNotHave: []string{"onclick"}},
		{name: "hostile MRI", in: `<span itemtype="http://schema.skype.com/Mention" itemid="0">x</span><at id='"><script>alert(1)</script>'>y</at>`,
			// The first ID has spaces, which no Matrix ID has; the second a
			// "/", which no matrix.to pill can carry: both stay text.
			mentions: []RemoteMention{{ItemID: 0, UserID: `"><img src=x onerror=alert(1)>`}}, mustNotHave: []string{"onerror", "<script", "<img", "href"}},
		{name: "odd but valid historical localpart", in: `<at id='"quoted"&amp;&lt;'>q</at>`,
			wantMentioned: []id.UserID{`@"quoted"&<:example.org`}, mustNotHave: []string{`"quoted"`}},
		{name: "nested quotes", in: `<blockquote itemtype="http://schema.skype.com/Reply" itemid="1"><p itemprop="preview">a<blockquote itemtype="http://schema.skype.com/Reply" itemid="2"><script>x</script>b</blockquote></p></blockquote><quote author="x"><quote author="y">deep</quote></quote>end`,
			mustNotHave: []string{"<script", "itemtype", "<quote"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, d := range []Dialect{Teams, Skype} {
				got := ToMatrix(context.Background(), Remote{Content: tc.in, Mentions: tc.mentions}, d, evil)
				c := got.Content
				if err := checkMatrixSafe(c.FormattedBody); err != nil {
					t.Errorf("%s: unsafe %q: %v", d, c.FormattedBody, err)
				}
				for _, bad := range tc.mustNotHave {
					if strings.Contains(c.FormattedBody, bad) {
						t.Errorf("%s: formatted_body %q contains %q", d, c.FormattedBody, bad)
					}
				}
				for _, u := range c.Mentions.UserIDs {
					if _, _, err := u.ParseAndValidateRelaxed(); err != nil {
						t.Errorf("%s: invalid user %q mentioned", d, u)
					}
				}
				if d == Teams && !slices.Equal(c.Mentions.UserIDs, tc.wantMentioned) {
					t.Errorf("teams: mentioned %v, want %v", c.Mentions.UserIDs, tc.wantMentioned)
				}
			}
		})
	}
}

func TestToMatrixQuoteOnce(t *testing.T) {
	// Two reply blocks: the first is the reply target, the second an
	// ordinary quote of its text, so nothing quoted is lost or doubled.
	in := `<blockquote itemtype="http://schema.skype.com/Reply" itemid="1"><strong itemprop="mri" itemid="8:orgid:bob">Bob</strong><p itemprop="preview">first</p></blockquote>` +
		`<blockquote itemtype="http://schema.skype.com/Reply" itemid="2"><strong itemprop="mri" itemid="8:orgid:jane">Jane</strong><p itemprop="preview">second</p></blockquote>answer`
	got := ToMatrix(context.Background(), Remote{Content: in}, Teams, testResolver)
	if got.Quote == nil || got.Quote.MessageID != "1" || got.Quote.Text != "first" {
		t.Fatalf("quote = %+v", got.Quote)
	}
	if want := `<blockquote><b>Jane</b><br>second</blockquote>answer`; got.Content.FormattedBody != want {
		t.Errorf("formatted_body %q, want %q", got.Content.FormattedBody, want)
	}
	if strings.Count(got.Content.Body, "first") != 0 || strings.Count(got.Content.Body, "second") != 1 {
		t.Errorf("body %q", got.Content.Body)
	}
	inline := got.WithQuote()
	if want := `<blockquote><b>Bob</b><br>first</blockquote><blockquote><b>Jane</b><br>second</blockquote>answer`; inline.FormattedBody != want {
		t.Errorf("WithQuote formatted_body %q, want %q", inline.FormattedBody, want)
	}
	if want := "> Bob:\n> first\n\n> **Jane**\n> second\nanswer"; inline.Body != want {
		t.Errorf("WithQuote body %q, want %q", inline.Body, want)
	}
	if got.Content.FormattedBody == inline.FormattedBody {
		t.Error("WithQuote changed the original content")
	}
	plain := ToMatrix(context.Background(), Remote{Content: `<quote authorname="Joe">old</quote>new`}, Skype, nil).WithQuote()
	if plain.Body != "> Joe:\n> old\n\nnew" || plain.FormattedBody != `<blockquote><b>Joe</b><br>old</blockquote>new` {
		t.Errorf("WithQuote of a plain reply = %q / %q", plain.Body, plain.FormattedBody)
	}
}

// TestDeepNesting: 5,000 nested <b> (past the HTML parser's 512 limit)
// still make a message with its text, without exhausting the stack.
func TestDeepNesting(t *testing.T) {
	in := strings.Repeat("<b>", 5000) + "deep text" + strings.Repeat("</b>", 5000)
	for _, d := range []Dialect{Lync, Teams, Skype} {
		got := ToMatrix(context.Background(), Remote{Content: in}, d, testResolver).Content
		if !strings.Contains(got.Body, "deep text") {
			t.Errorf("%s: body %q lost the text", d, got.Body)
		}
		if !strings.Contains(got.FormattedBody, "deep text") {
			t.Errorf("%s: formatted_body lost the text", d)
		}
		if err := checkMatrixSafe(got.FormattedBody); err != nil {
			t.Errorf("%s: %v", d, err)
		}
		out := FromMatrix(context.Background(), &event.MessageEventContent{MsgType: event.MsgText, Body: "deep text", Format: event.FormatHTML, FormattedBody: in}, d, testFormatter, OutboundOptions{})
		if !strings.Contains(out.Content+out.Plain, "deep text") || !strings.Contains(out.Plain, "deep text") {
			t.Errorf("%s: FromMatrix lost the text: %q / %q", d, out.Content, out.Plain)
		}
	}
	unclosed := strings.Repeat("<i><b>", 3000) + "x"
	if got := HTMLToPlain(SanitizeHTML(unclosed)); got != "_**x**_" && !strings.Contains(got, "x") {
		t.Errorf("HTMLToPlain of deep unclosed markup = %q", got)
	}
	if got := HTMLToPlain(unclosed); !strings.Contains(got, "x") {
		t.Errorf("HTMLToPlain of raw deep markup = %q", got)
	}
}

func TestEmoticonUnicode(t *testing.T) {
	for in, want := range map[string]string{"smile": "🙂", "(smile)": "🙂", "LIKE": "👍", "heart": "❤️"} {
		if got, ok := EmoticonUnicode(in); !ok || got != want {
			t.Errorf("EmoticonUnicode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := EmoticonUnicode("nosuchthing"); ok {
		t.Errorf("EmoticonUnicode(nosuchthing) = %q", got)
	}
}

// TestToMatrixInlineImages: AMS images in a body (the AMSImage markup of
// the reference §5, or any <img> whose src is an AMS object URL) come out
// as Images for the connector to fetch; emoji and other images do not.
func TestToMatrixInlineImages(t *testing.T) {
	const ams = `<p><img itemscope="image" src="https://as-api.asm.skype.com/v1/objects/0-weu-d1-abc/views/imgo" itemtype="http://schema.skype.com/AMSImage" id="0-weu-d1-abc" itemid="0-weu-d1-abc" href="https://as-api.asm.skype.com/v1/objects/0-weu-d1-abc/views/imgo" target-src="https://as-api.asm.skype.com/v1/objects/0-weu-d1-abc/views/imgo"></p>`
	for _, tc := range []struct {
		name    string
		in      Remote
		dialect Dialect
		want    []InlineImage
	}{
		{name: "reference image message", in: Remote{Content: ams}, dialect: Teams, want: []InlineImage{{ObjectID: "0-weu-d1-abc",
			Src: "https://as-api.asm.skype.com/v1/objects/0-weu-d1-abc/views/imgo"}}},
		{name: "itemtype without itemid takes the id from src", dialect: Teams,
			in:   Remote{Content: `<img itemtype="http://schema.skype.com/AMSImage" src="https://x/v1/objects/0-a/views/imgpsh_fullsize?v=1" alt="pic">`},
			want: []InlineImage{{ObjectID: "0-a", Src: "https://x/v1/objects/0-a/views/imgpsh_fullsize?v=1", Alt: "pic"}}},
		{name: "AMS src without itemtype", dialect: Teams, in: Remote{Content: `text <img src="https://h/v1/objects/0-x/views/imgo"> <img src="https://h/v1/objects/0-y">`},
			want: []InlineImage{{ObjectID: "0-x", Src: "https://h/v1/objects/0-x/views/imgo"}, {ObjectID: "0-y", Src: "https://h/v1/objects/0-y"}}},
		{name: "edited Skype body with an image", dialect: Skype,
			in:   Remote{Content: `Edited previous message: <img src="https://api.asm.skype.com/v1/objects/0-s/views/imgo"><e_m ts="1" ts_ms="1000" a="fred" t="61"/>`},
			want: []InlineImage{{ObjectID: "0-s", Src: "https://api.asm.skype.com/v1/objects/0-s/views/imgo"}}},
		{name: "emoji is no image", dialect: Teams, in: Remote{Content: `<img itemtype="http://schema.skype.com/Emoji" alt="🙂" src="https://statics.teams.cdn.office.net/x/v1/objects/smile/20.png" itemid="smile">`}},
		{name: "foreign image is no AMS image", dialect: Teams, in: Remote{Content: `<img src="https://example.com/cat.png">`}},
		{name: "AMSImage naming no object", dialect: Teams, in: Remote{Content: `<img itemtype="http://schema.skype.com/AMSImage" src="https://example.com/cat.png">`}},
		{name: "plain text has no images", dialect: Teams, in: Remote{Content: ams, Plain: true}},
		{name: "Lync has no AMS", dialect: Lync, in: Remote{Content: ams}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ToMatrix(context.Background(), tc.in, tc.dialect, testResolver)
			if !slices.Equal(got.Images, tc.want) {
				t.Fatalf("images %+v, want %+v", got.Images, tc.want)
			}
			if strings.Contains(got.Content.FormattedBody, "<img") {
				t.Fatalf("an AMS image stayed in the HTML: %s", got.Content.FormattedBody)
			}
		})
	}
}
