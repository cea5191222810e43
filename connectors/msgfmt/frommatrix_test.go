package msgfmt

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

func htmlContent(body, formatted string) *event.MessageEventContent {
	return &event.MessageEventContent{MsgType: event.MsgText, Body: body, Format: event.FormatHTML, FormattedBody: formatted}
}

type fromMatrixCase struct {
	name     string
	in       *event.MessageEventContent
	opts     OutboundOptions
	content  string
	plain    string
	mentions []RemoteMention
	offset   int
	everyone bool
}

func runFromMatrix(t *testing.T, d Dialect, wantType string, cases []fromMatrixCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := FromMatrix(context.Background(), tc.in, d, testFormatter, tc.opts)
			if got.Content != tc.content {
				t.Errorf("content\n got  %q\n want %q", got.Content, tc.content)
			}
			if tc.plain != "" && got.Plain != tc.plain {
				t.Errorf("plain\n got  %q\n want %q", got.Plain, tc.plain)
			}
			if !slices.Equal(got.Mentions, tc.mentions) {
				t.Errorf("mentions\n got  %+v\n want %+v", got.Mentions, tc.mentions)
			}
			if got.MentionsEveryone != tc.everyone {
				t.Errorf("mentions everyone = %v", got.MentionsEveryone)
			}
			if got.EmoteOffset != tc.offset {
				t.Errorf("emote offset %d, want %d", got.EmoteOffset, tc.offset)
			}
			if wantType != "" && got.MessageType != wantType {
				t.Errorf("message type %q, want %q", got.MessageType, wantType)
			}
		})
	}
}

func TestFromMatrixTeams(t *testing.T) {
	janeMention := RemoteMention{ItemID: 0, UserID: "8:orgid:jane", DisplayName: "Jane Doe", MentionType: "person"}
	runFromMatrix(t, Teams, "RichText/Html", []fromMatrixCase{
		{name: "plain body", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "a < b\nnext"}, content: "a &lt; b<br/>next", plain: "a < b\nnext"},
		{name: "inline formatting", in: htmlContent("x", `<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <s>s</s> <del>d</del> <code>c</code>`),
			content: `<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <s>s</s> <s>d</s> <code>c</code>`},
		{name: "code block", in: htmlContent("x", `<pre><code class="language-go">x := 1
y := "a"</code></pre>`), content: "<pre>x := 1\ny := &#34;a&#34;</pre>", plain: "```go\nx := 1\ny := \"a\"\n```"},
		{name: "lists", in: htmlContent("x", `<ul><li>one</li><li>two</li></ul><ol start="3"><li>three</li></ol>`),
			content: `<ul><li>one</li><li>two</li></ul><ol start="3"><li>three</li></ol>`, plain: "* one\n* two\n\n3. three"},
		{name: "paragraphs and breaks", in: htmlContent("x", `<p>one</p><p>two<br>three</p>`), content: `<p>one</p><p>two<br/>three</p>`, plain: "one\n\ntwo\nthree"},
		{name: "quote", in: htmlContent("x", `<blockquote>wise</blockquote>ok`), content: `<blockquote>wise</blockquote>ok`},
		{name: "link", in: htmlContent("x", `<a href="https://example.com/?a=1&amp;b=2" target="_blank">site</a>`),
			content: `<a href="https://example.com/?a=1&amp;b=2">site</a>`, plain: "site (https://example.com/?a=1&b=2)"},
		{name: "mention", in: htmlContent("Jane Doe: hi", pill(0)+`Jane Doe</a>: hi`),
			content:  `<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane Doe</span>: hi`,
			plain:    "Jane Doe: hi",
			mentions: []RemoteMention{janeMention}},
		{name: "mentions numbered in order, same user twice", in: htmlContent("x", pill(1)+`Bob</a>, `+pill(0)+`Jane</a> and `+pill(1)+`Bob</a>`),
			content: `<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Bob</span>, ` +
				`<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="1">Jane</span> and ` +
				`<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="2">Bob</span>`,
			mentions: []RemoteMention{
				{ItemID: 0, UserID: "8:orgid:bob", DisplayName: "Bob", MentionType: "person"},
				{ItemID: 1, UserID: "8:orgid:jane", DisplayName: "Jane", MentionType: "person"},
				{ItemID: 2, UserID: "8:orgid:bob", DisplayName: "Bob", MentionType: "person"}}},
		{name: "pill with the user ID as text shows the name", in: htmlContent("x", `<a href="https://matrix.to/#/@teams_jane:example.org">@teams_jane:example.org</a>`),
			content:  `<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane Doe</span>`,
			mentions: []RemoteMention{janeMention}},
		{name: "matrix: URI pill", in: htmlContent("x", `<a href="matrix:u/teams_jane:example.org">Jane Doe</a>`),
			content:  `<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Jane Doe</span>`,
			mentions: []RemoteMention{janeMention}},
		{name: "pill for a Matrix-only user is their name", in: htmlContent("x", `<a href="https://matrix.to/#/@carol:matrix.org">Carol</a> hi`),
			content: `Carol hi`},
		{name: "room link stays a link", in: htmlContent("x", `<a href="https://matrix.to/#/#room:example.org">#room:example.org</a>`),
			content: `<a href="https://matrix.to/#/%23room:example.org">#room:example.org</a>`},
		{name: "inline image becomes its alt text", in: htmlContent("x", `<img src="mxc://example.org/abc" alt=":party:" data-mx-emoticon> yay`), content: `:party: yay`},
		{name: "spoiler", in: htmlContent("x", `<span data-mx-spoiler="">secret</span>`), content: `<span>||secret||</span>`},
		{name: "colour dropped", in: htmlContent("x", `<font data-mx-color="#ff0000">red</font>`), content: `<span>red</span>`},
		{name: "reply fallback dropped", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "> <@bob:example.org> old\n\nnew",
			Format: event.FormatHTML, FormattedBody: `<mx-reply><blockquote><a href="https://matrix.to/#/!r:example.org/$e">In reply to</a> <mx-reply>nested</mx-reply>old</blockquote></mx-reply>new`,
			RelatesTo: &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: "$e"}}},
			content: `new`, plain: "new"},
		{name: "reply", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "sure"},
			opts:    OutboundOptions{Reply: &Quote{MessageID: "1618133509362", AuthorID: "8:orgid:bob", AuthorName: "Bob <b>", Text: "lunch?\nat 12"}},
			content: `<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1618133509362"><strong itemprop="mri" itemid="8:orgid:bob">Bob &lt;b&gt;</strong><span itemprop="time" itemid="1618133509362"></span><p itemprop="preview">lunch?<br>at 12</p></blockquote>sure`},
		{name: "edit fallback", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "* fixed", Format: event.FormatHTML, FormattedBody: "* <b>fixed</b>",
			RelatesTo: &event.RelatesTo{Type: event.RelReplace, EventID: "$orig"}}, content: `<b>fixed</b>`, plain: "**fixed**"},
		{name: "edit new content", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "* fixed", Format: event.FormatHTML, FormattedBody: "* <b>fixed</b>",
			RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: "$orig"},
			NewContent: htmlContent("fixed", "<i>fixed</i>")}, content: `<i>fixed</i>`},
		{name: "emote", in: &event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves"}, content: `* waves`, plain: "* waves"},
		{name: "script dropped", in: htmlContent("x", `<script>alert(1)</script><b onclick="x()">b</b><a href="javascript:alert(1)">l</a>`), content: `<b>b</b>l`},
		{name: "controls stripped", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "a\x00b\x1bc"}, content: `abc`, plain: "abc"},
	})
}

func TestFromMatrixSkype(t *testing.T) {
	now := time.Date(2016, 1, 1, 18, 0, 0, 0, time.UTC)
	runFromMatrix(t, Skype, "RichText", []fromMatrixCase{
		{name: "plain body keeps line breaks", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "a < b\nnext"}, content: "a &lt; b\nnext"},
		{name: "inline formatting", in: htmlContent("x", `<b>b</b> <i>i</i> <s>s</s> <del>d</del> <u>u</u>`),
			content: `<b raw_pre="*" raw_post="*">b</b> <i raw_pre="_" raw_post="_">i</i> <s raw_pre="~" raw_post="~">s</s> <s raw_pre="~" raw_post="~">d</s> u`},
		{name: "code", in: htmlContent("x", "<code>c</code> and <pre><code class=\"language-go\">x &lt; 1\ny</code></pre>"),
			content: "<pre raw_pre=\"{code}\" raw_post=\"{code}\">c</pre> and \n<pre raw_pre=\"{code}\" raw_post=\"{code}\">x &lt; 1\ny</pre>"},
		{name: "lists and quotes as text", in: htmlContent("x", `<ul><li>one</li><li>two</li></ul><blockquote>wise</blockquote>`), content: "* one\n* two\n\n> wise"},
		{name: "paragraphs", in: htmlContent("x", `<p>one</p><p>two<br>three</p>`), content: "one\n\ntwo\nthree"},
		{name: "link with its address as text", in: htmlContent("x", `<a href="https://example.com">https://example.com</a>`), content: `<a href="https://example.com">https://example.com</a>`},
		{name: "link with other text shows the address", in: htmlContent("x", `<a href="https://evil.example">https://bank.example</a>`),
			content: `https://bank.example (<a href="https://evil.example">https://evil.example</a>)`},
		{name: "colour", in: htmlContent("x", `<font color="#ff0000">red</font> <span data-mx-color="bad;x">y</span>`), content: `<font color="#ff0000">red</font> y`},
		{name: "mention", in: htmlContent("x", pill(2)+`Joe</a> hi`), content: `<at id="8:live:joe.4">Joe</at> hi`,
			mentions: []RemoteMention{{ItemID: 0, UserID: "8:live:joe.4", DisplayName: "Joe", MentionType: "person"}}},
		{name: "pill for a Matrix-only user", in: htmlContent("x", `<a href="https://matrix.to/#/@carol:matrix.org">Carol &lt;3</a>`), content: `Carol &lt;3`},
		{name: "@room pinging the room", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "@room lunch, `@room`", Format: event.FormatHTML,
			FormattedBody: "@room lunch, <code>@room</code>", Mentions: &event.Mentions{Room: true}},
			content: `<at id="*">all</at> lunch, <pre raw_pre="{code}" raw_post="{code}">@room</pre>`, everyone: true},
		{name: "@room without the ping is text", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "@room lunch"}, content: `@room lunch`},
		{name: "emote", in: &event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves"}, opts: OutboundOptions{SenderName: "Fred Adams"},
			content: "Fred Adams waves", plain: "* waves", offset: len("Fred Adams ")},
		{name: "emote without a name", in: &event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves"}, content: "/me waves", offset: 4},
		{name: "reply today", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "sure"},
			opts:    OutboundOptions{Now: now, Reply: &Quote{MessageID: "1451649600000", AuthorID: "8:joe.4", AuthorName: "Joe Bloggs", Conversation: "8:joe.4", Text: "lunch?", Time: time.Unix(1451649600, 0)}},
			content: "<quote author=\"joe.4\" authorname=\"Joe Bloggs\" conversation=\"joe.4\" timestamp=\"1451649600\" messageid=\"1451649600000\"><legacyquote>[12:00:00] Joe Bloggs: </legacyquote>lunch?<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>sure"},
		{name: "reply to an older day", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "sure"},
			opts:    OutboundOptions{Now: now.AddDate(0, 0, 3), Reply: &Quote{AuthorID: "8:live:joe.4", AuthorName: "Joe", Conversation: "19:abc@thread.skype", Text: "a<b", Time: time.Unix(1451649600, 0)}},
			content: "<quote author=\"live:joe.4\" authorname=\"Joe\" conversation=\"19:abc@thread.skype\" timestamp=\"1451649600\"><legacyquote>[01/01/2016 12:00:00] Joe: </legacyquote>a&lt;b<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>sure"},
	})
}

func TestFromMatrixLync(t *testing.T) {
	runFromMatrix(t, Lync, "", []fromMatrixCase{
		{name: "plain only", in: &event.MessageEventContent{MsgType: event.MsgText, Body: "hi\nthere"}, content: "", plain: "hi\nthere"},
		{name: "trivial HTML is plain", in: htmlContent("hi", "<p>hi</p>"), content: "", plain: "hi"},
		{name: "bold", in: htmlContent("**b**", "<b>b</b>"), content: "<b>b</b>", plain: "**b**"},
		{name: "pill is the name", in: htmlContent("x", `<b>hey</b> `+pill(0)+`Jane</a>`), content: "<b>hey</b> Jane", plain: "**hey** Jane"},
		{name: "emote", in: &event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves", Format: event.FormatHTML, FormattedBody: "<i>waves</i>"}, content: "* <i>waves</i>", plain: "* _waves_"},
	})
	if got := FromMatrix(context.Background(), htmlContent("x", "<b>x</b>"), Lync, nil, OutboundOptions{}).MessageType; got != "Html" {
		t.Errorf("Lync HTML message type %q", got)
	}
}

func TestFromMatrixNil(t *testing.T) {
	for _, d := range []Dialect{Lync, Teams, Skype} {
		if out := FromMatrix(context.Background(), nil, d, nil, OutboundOptions{}); out.Content != "" || out.Plain != "" || out.MessageType == "" {
			t.Errorf("%s: FromMatrix(nil) = %+v", d, out)
		}
	}
}

func TestTeamsMentionsJSON(t *testing.T) {
	out := FromMatrix(context.Background(), htmlContent("x", pill(0)+`Jane</a> `+pill(1)+`Bob</a>`), Teams, testFormatter, OutboundOptions{})
	var list []map[string]any
	if err := json.Unmarshal([]byte(TeamsMentionsJSON(out.Mentions)), &list); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"@type": MentionSchema, "itemid": 0.0, "mri": "8:orgid:jane", "mentionType": "person", "displayName": "Jane"},
		{"@type": MentionSchema, "itemid": 1.0, "mri": "8:orgid:bob", "mentionType": "person", "displayName": "Bob"},
	}
	if len(list) != len(want) {
		t.Fatalf("mentions %v", list)
	}
	for i := range want {
		for k, v := range want[i] {
			if list[i][k] != v {
				t.Errorf("mention %d %s = %v, want %v", i, k, list[i][k], v)
			}
		}
	}
	if TeamsMentionsJSON(nil) != "[]" {
		t.Errorf("no mentions = %s", TeamsMentionsJSON(nil))
	}
}

// TestRoundTrip: what a Matrix user sends to Teams (or Skype) and the
// network sends back converts to the same formatting, with every mention
// pointing at the same Matrix user.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, html string
		want       map[Dialect]string
	}{
		{name: "inline", html: `<b>b</b> <i>i</i> <s>s</s> <code>c</code>`, want: map[Dialect]string{
			Teams: `<b>b</b> <i>i</i> <s>s</s> <code>c</code>`, Skype: `<b>b</b> <i>i</i> <s>s</s> <pre>c</pre>`}},
		{name: "underline", html: `<u>u</u> x`, want: map[Dialect]string{Teams: `<u>u</u> x`}},
		{name: "blocks", html: `<p>para</p><ul><li>one</li><li>two</li></ul><blockquote>q</blockquote><pre>a
b</pre>`, want: map[Dialect]string{Teams: "<p>para</p><ul><li>one</li><li>two</li></ul><blockquote>q</blockquote><pre>a\nb</pre>"}},
		{name: "link", html: `see <a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>`, want: map[Dialect]string{
			Teams: `see <a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>`,
			Skype: `see <a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>`}},
		{name: "mentions", html: `hi ` + pill(0) + `Jane Doe</a> and ` + pill(1) + `Bob</a>, ` + pill(4) + `Alice</a>`, want: map[Dialect]string{
			Teams: `hi ` + pill(0) + `Jane Doe</a> and ` + pill(1) + `Bob</a>, ` + pill(4) + `Alice</a>`,
			Skype: `hi ` + pill(0) + `Jane Doe</a> and ` + pill(1) + `Bob</a>, ` + pill(4) + `Alice</a>`}},
	} {
		for d, want := range tc.want {
			out := FromMatrix(context.Background(), htmlContent("x", tc.html), d, testFormatter, OutboundOptions{})
			back := ToMatrix(context.Background(), Remote{Content: out.Content, Mentions: out.Mentions}, d, testResolver)
			if back.Content.FormattedBody != want {
				t.Errorf("%s %s: Matrix → %q → Matrix\n got  %q\n want %q", tc.name, d, out.Content, back.Content.FormattedBody, want)
			}
			var wantUsers []id.UserID
			for _, p := range people {
				if strings.Contains(tc.html, string(p.mxid)) && !slices.Contains(wantUsers, p.mxid) {
					wantUsers = append(wantUsers, p.mxid)
				}
			}
			slices.Sort(wantUsers)
			gotUsers := slices.Clone(back.Content.Mentions.UserIDs)
			slices.Sort(gotUsers)
			if !slices.Equal(gotUsers, wantUsers) {
				t.Errorf("%s %s: mentions %v, want %v", tc.name, d, gotUsers, wantUsers)
			}
		}
	}
	// A reply sent to Teams comes back naming the same message and author.
	reply := &Quote{MessageID: "1618133509362", AuthorID: "8:orgid:bob", AuthorName: "Bob", Text: "lunch?", Time: time.UnixMilli(1618133509362).UTC()}
	for _, d := range []Dialect{Teams, Skype} {
		out := FromMatrix(context.Background(), htmlContent("sure", "<b>sure</b>"), d, testFormatter, OutboundOptions{Reply: reply, Now: reply.Time})
		back := ToMatrix(context.Background(), Remote{Content: out.Content}, d, testResolver)
		want := *reply
		if d == Skype {
			want.Time = want.Time.Truncate(time.Second) // Skype quotes carry seconds
		}
		if back.Quote == nil || *back.Quote != want {
			t.Errorf("%s: reply came back as %+v, want %+v", d, back.Quote, want)
		}
		if back.Content.FormattedBody != "<b>sure</b>" {
			t.Errorf("%s: reply body came back as %q", d, back.Content.FormattedBody)
		}
	}
}
