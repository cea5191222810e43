package teams

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/msgfmt"
)

// Issue 7 item 10: an m.notice (bot output; bridge_notices is on in the
// shipped config) goes to Teams marked, so Teams users can tell it from
// what the person typed; other messages are left as they are.
func TestHardenTeamsNoticeIsMarked(t *testing.T) {
	ctx := context.Background()
	notice := &event.MessageEventContent{MsgType: event.MsgNotice, Body: "build passed", Format: event.FormatHTML, FormattedBody: "<p>build <b>passed</b></p>"}
	out := msgfmt.FromMatrix(ctx, markNotice(notice), msgfmt.Teams, nil, msgfmt.OutboundOptions{})
	if !strings.HasPrefix(out.Content, "<p>"+noticeMarker+"build <b>passed</b>") {
		t.Fatalf("notice went as %q", out.Content)
	}
	plain := &event.MessageEventContent{MsgType: event.MsgNotice, Body: "plain notice"}
	if out = msgfmt.FromMatrix(ctx, markNotice(plain), msgfmt.Teams, nil, msgfmt.OutboundOptions{}); !strings.Contains(out.Content, noticeMarker+"plain notice") {
		t.Fatalf("plain notice went as %q", out.Content)
	}
	edit := &event.MessageEventContent{MsgType: event.MsgNotice, Body: "* fixed", NewContent: &event.MessageEventContent{MsgType: event.MsgNotice, Body: "fixed"}}
	edit.RelatesTo = (&event.RelatesTo{}).SetReplace("$orig")
	if out = msgfmt.FromMatrix(ctx, markNotice(edit), msgfmt.Teams, nil, msgfmt.OutboundOptions{}); !strings.Contains(out.Content, noticeMarker+"fixed") || strings.Contains(out.Content, "*") {
		t.Fatalf("edited notice went as %q", out.Content)
	}
	text := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	if markNotice(text) != text {
		t.Fatal("a text message was changed")
	}
	if notice.Body != "build passed" {
		t.Fatal("markNotice changed the event's own content")
	}
}
