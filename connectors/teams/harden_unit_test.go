package teams

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
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

// Issue 7 item 15: a new group room always has the user as a member, even
// when the thread answer leaves them out, so its first encrypted messages
// reach their devices; an answer without members is not a full list.
func TestHardenTeamsGroupInfoAlwaysHasTheUser(t *testing.T) {
	c := &Client{meta: &LoginMetadata{MRI: "8:orgid:me"}}
	c.Login = &bridgev2.UserLogin{UserLogin: &database.UserLogin{ID: "teams.8:orgid:me"}}
	th := &chatsvc.Thread{ID: "19:g@thread.v2", Members: []chatsvc.Member{{ID: "8:orgid:bob"}, {ID: "8:orgid:dave"}}}
	members, _ := c.threadMembers(th)
	self := c.sender(c.meta.MRI)
	// A list that leaves the user out is not authoritative either: nobody
	// is removed on its word.
	if m, ok := members.MemberMap[self.Sender]; !ok || !m.IsFromMe || members.IsFull || len(members.MemberMap) != 3 {
		t.Fatalf("members %+v (full %v)", members.MemberMap, members.IsFull)
	}
	th.Members = append(th.Members, chatsvc.Member{ID: "8:orgid:me"})
	if full, _ := c.threadMembers(th); !full.IsFull || len(full.MemberMap) != 3 {
		t.Fatalf("a list naming everyone, the user too, is not the full list: %+v (full %v)", full.MemberMap, full.IsFull)
	}
	empty, _ := c.threadMembers(&chatsvc.Thread{ID: "19:g@thread.v2"})
	if empty.IsFull {
		t.Fatal("an answer without members is taken as the full list")
	}
	if _, ok := empty.MemberMap[self.Sender]; !ok {
		t.Fatal("the user is not a member of a room from an answer without members")
	}
}

// Issue 7 item 16: without the test switch, the Teams clients never dial a
// loopback, private or link-local address, whatever host a sign-in answer
// names; with it (test servers), they do.
func TestHardenTeamsRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Setenv(v, "") // with a proxy, the proxy decides
	}
	c := New()
	cfg := c.apiConfig(teamsapi.Work)
	if cfg.HTTPClient == nil {
		t.Fatal("no HTTP client of the connector's own")
	}
	for _, target := range []string{srv.URL, "https://169.254.169.254/metadata", "https://10.0.0.1/"} {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer secret")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := cfg.HTTPClient.Do(req.WithContext(ctx))
		cancel()
		if !errors.Is(err, errPrivateAddress) {
			t.Fatalf("%s: %v, want the private-address refusal", target, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatal("the loopback server was reached")
	}
	c.Config.AllowInsecureHTTP = true
	if cfg := c.apiConfig(teamsapi.Work); cfg.HTTPClient != nil {
		t.Fatal("the test switch still installs the public-only client")
	}
}
