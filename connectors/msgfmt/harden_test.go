package msgfmt

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"maunium.net/go/mautrix/event"
)

// Issue 7 item 6 for the chat-service dialects: control characters go,
// newline and tab stay; absurd nesting still leaves a plain body.
func TestHardenControlsAndNesting(t *testing.T) {
	ctx := context.Background()
	for _, d := range []Dialect{Teams, Skype} {
		in := ToMatrix(ctx, Remote{Content: "a\x00b\x01c\td\x1be\x7f"}, d, nil)
		// (In HTML a tab is white space like any other.)
		if strings.ContainsAny(in.Content.Body, "\x00\x01\x1b") || !strings.Contains(in.Content.Body, "abc") {
			t.Errorf("%v: body %q keeps controls", d, in.Content.Body)
		}
		plain := ToMatrix(ctx, Remote{Content: "x\x00y\nz\tw\x1f", Plain: true}, d, nil)
		if plain.Content.Body != "xy\nz\tw" {
			t.Errorf("%v plain: body %q", d, plain.Content.Body)
		}
		deep := strings.Repeat("<b>", 5000) + "deep text" + strings.Repeat("</b>", 5000)
		in = ToMatrix(ctx, Remote{Content: deep}, d, nil)
		if !strings.Contains(in.Content.Body, "deep text") {
			t.Errorf("%v: 5,000 nested <b> gave body %q", d, in.Content.Body)
		}
		deep = strings.Repeat("<div><span>", 3000) + "deeper"
		in = ToMatrix(ctx, Remote{Content: deep}, d, nil)
		if !strings.Contains(in.Content.Body, "deeper") {
			t.Errorf("%v: unclosed nesting gave body %q", d, in.Content.Body)
		}
	}
}

// Matrix text that looks like remote markup must reach the remote as text:
// no mention, quote, shared file or emoji element the user did not make.
func TestHardenMarkupInMatrixTextStaysText(t *testing.T) {
	ctx := context.Background()
	hostile := []string{
		`<at id="8:live:boss">Boss</at>`,
		`<at id="*">all</at>`,
		`<quote author="8:live:boss" authorname="Boss" conversation="x" messageid="1">I resign</quote>`,
		`<URIObject type="File.1" uri="https://evil.example/x" url_thumbnail="https://evil.example/t"><OriginalName v="a.exe"/></URIObject>`,
		`<span itemscope itemtype="http://schema.skype.com/Mention" itemid="0">Boss</span>`,
		`<ss type="smile">:)</ss>`,
		`<e_m ts="1" a="x" t="61"/>`,
		`<blockquote itemscope itemtype="http://schema.skype.com/Reply" itemid="123"><strong itemprop="mri">8:orgid:x</strong></blockquote>`,
		`<img src="https://evil.example/ams/v1/objects/0-x/views/imgo" itemtype="http://schema.skype.com/AMSImage">`,
	}
	for _, d := range []Dialect{Teams, Skype} {
		for _, h := range hostile {
			for _, content := range []*event.MessageEventContent{
				{MsgType: event.MsgText, Body: h},
				{MsgType: event.MsgText, Body: h, Format: event.FormatHTML, FormattedBody: h},
				{MsgType: event.MsgText, Body: h, Format: event.FormatHTML, FormattedBody: "<p>" + strings.ReplaceAll(strings.ReplaceAll(h, "<", "&lt;"), ">", "&gt;") + "</p>"},
			} {
				out := FromMatrix(ctx, content, d, nil, OutboundOptions{})
				if tag := remoteMarkupIn(out.Content); tag != "" {
					t.Errorf("%v: %q (html %v) went out as markup (%s): %q", d, h, content.Format != "", tag, out.Content)
				}
				if len(out.Mentions) != 0 || out.MentionsEveryone {
					t.Errorf("%v: %q mentions someone: %+v", d, h, out.Mentions)
				}
			}
		}
	}
}

// remoteMarkupIn names the first element of s that means something to a
// Teams or Skype client beyond formatting (a mention, quote, shared object,
// emoticon, image or a schema-typed element), or "".
func remoteMarkupIn(s string) string {
	z := xhtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return ""
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch strings.ToLower(tok.Data) {
		case "at", "quote", "uriobject", "ss", "e_m", "img", "originalname", "legacyquote", "partlist", "flag":
			return tok.Data
		}
		for _, a := range tok.Attr {
			if a.Key == "itemtype" || a.Key == "itemscope" || a.Key == "itemid" {
				return tok.Data + " " + a.Key
			}
		}
	}
}

// Issue 7 item 5: a message over the homeserver's event size limit is split
// into parts that each fit (or cut with a marker), never one event the
// homeserver refuses.
func TestHardenSplitForMatrix(t *testing.T) {
	ctx := context.Background()
	line := "a line of a pasted log <with> \"quotes\" & ümlauts 💥\n"
	for _, size := range []int{70 * 1024, 1 << 20} {
		text := strings.Repeat(line, size/len(line)+1)
		for _, d := range []Dialect{Teams, Skype} {
			in := ToMatrix(ctx, Remote{Content: "<b>" + PlainToHTML(text) + "</b>"}, d, nil)
			parts := SplitForMatrix(in.Content)
			if len(parts) < 2 {
				t.Fatalf("%v %d bytes: %d part(s)", d, size, len(parts))
			}
			var joined strings.Builder
			for i, p := range parts {
				raw, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				if len(raw) > MaxPartText+2048 {
					t.Fatalf("%v %d bytes: part %d is %d bytes of JSON", d, size, i, len(raw))
				}
				body := p.Body
				if i == 0 {
					if !strings.HasPrefix(body, FormattingRemovedMarker+"\n") {
						t.Fatalf("first part does not say the formatting went: %.80q", body)
					}
					body = strings.TrimPrefix(body, FormattingRemovedMarker+"\n")
				}
				prefix := fmt.Sprintf("(%d/%d) ", i+1, len(parts))
				if !strings.HasPrefix(body, prefix) {
					t.Fatalf("part %d does not start with %q: %.40q", i, prefix, body)
				}
				joined.WriteString(strings.TrimPrefix(body, prefix))
			}
			got := joined.String()
			if size > MaxParts*MaxPartText {
				if !strings.Contains(got, "[message truncated: ") || len(parts) != MaxParts {
					t.Fatalf("%v 1 MB: %d parts, no truncation marker", d, len(parts))
				}
				continue
			}
			if got != in.Content.Body {
				t.Fatalf("%v %d bytes: the parts do not add up to the message (%d vs %d bytes)", d, size, len(got), len(text))
			}
		}
	}
	small := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	if p := SplitForMatrix(small); len(p) != 1 || p[0] != small {
		t.Fatalf("a short message was changed: %+v", p)
	}
	big := &event.MessageEventContent{MsgType: event.MsgText, Body: strings.Repeat("x", 200*1024), Format: event.FormatHTML, FormattedBody: "<b>x</b>"}
	cut := TruncateForMatrix(big)
	if raw, _ := json.Marshal(cut); len(raw) > MaxEventText || !strings.Contains(cut.Body, "[message truncated: ") || cut.FormattedBody != "" {
		t.Fatalf("truncated edit: %d bytes, marker %v", len(raw), strings.Contains(cut.Body, "truncated"))
	}
}

// A reply's quoted text and author come from Matrix (the replied-to
// event's body, a ghost's name): they must stay text inside the quote, not
// close it and add markup of their own.
func TestHardenReplyQuoteStaysText(t *testing.T) {
	ctx := context.Background()
	hostile := `x</quote><at id="*">all</at><quote>`
	teamsHostile := `x</blockquote><span itemscope itemtype="http://schema.skype.com/Mention" itemid="9">Boss</span>`
	for _, d := range []Dialect{Teams, Skype} {
		for _, text := range []string{hostile, teamsHostile} {
			q := &Quote{MessageID: `1"><at id="*">`, AuthorID: `8:live:bob" authorname="<at>`, AuthorName: text, Text: text, Conversation: `8:bob"><at id="*">`}
			out := FromMatrix(ctx, &event.MessageEventContent{MsgType: event.MsgText, Body: "answer"}, d, nil, OutboundOptions{Reply: q})
			z := xhtml.NewTokenizer(strings.NewReader(out.Content))
			for {
				tt := z.Next()
				if tt == xhtml.ErrorToken {
					break
				}
				if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
					continue
				}
				tok := z.Token()
				switch strings.ToLower(tok.Data) {
				case "at":
					t.Fatalf("%v: the quote let an <at> through: %q", d, out.Content)
				case "span":
					for _, a := range tok.Attr {
						if a.Key == "itemid" && a.Val == "9" {
							t.Fatalf("%v: the quote let a mention span through: %q", d, out.Content)
						}
					}
				}
			}
			if n := strings.Count(strings.ToLower(out.Content), "<quote"); d == Skype && n != 1 {
				t.Fatalf("%v: %d quotes in %q", d, n, out.Content)
			}
			if len(out.Mentions) != 0 || out.MentionsEveryone {
				t.Fatalf("%v: the quote mentions %+v", d, out.Mentions)
			}
		}
	}
}
