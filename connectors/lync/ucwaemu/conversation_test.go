package ucwaemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// acceptIncoming waits for an invitation, accepts it and returns all
// events up to the first message event, plus the messaging links.
func acceptIncoming(t *testing.T, c *raw) (before, after []ev) {
	t.Helper()
	before = c.pollUntil("participant", "added")
	inv, ok := find(before, "messagingInvitation", "started")
	if !ok {
		t.Fatalf("no invitation in %v", summary(before))
	}
	accept := dig(inv.raw, "_embedded", "messagingInvitation", "_links", "accept", "href").(string)
	if r := c.postJSON(accept, nil); r.status != http.StatusNoContent {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	return before, c.pollUntil("message", "completed")
}

func messagingLink(t *testing.T, evs []ev, rel string) string {
	t.Helper()
	for _, e := range evs {
		if e.rel == "messaging" {
			if h, ok := dig(e.raw, "_embedded", "messaging", "_links", rel, "href").(string); ok {
				return h
			}
		}
	}
	t.Fatalf("no messaging %s link in %v", rel, summary(evs))
	return ""
}

func TestIncomingIMSequence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	th, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "Hello.. This is Bob Here..")
	if err != nil {
		t.Fatal(err)
	}
	before, after := acceptIncoming(t, c)
	if got := summary(before); strings.Join(got, ",") != "communication:messagingInvitation/started,communication:conversation/added,conversation:localParticipant/added,conversation:participant/added" {
		t.Fatalf("invitation sequence %v", got)
	}
	inv := dig(before[0].raw, "_embedded", "messagingInvitation").(map[string]any)
	if inv["direction"] != "Incoming" || inv["state"] != "Connecting" || inv["threadId"] != th ||
		dig(inv, "_links", "message", "href") != "data:text/plain;charset=utf-8,Hello..+This+is+Bob+Here.." ||
		dig(inv, "_embedded", "from", "name") != "Bob Example" || dig(inv, "_embedded", "from", "uri") != "sip:bob@contoso.com" {
		t.Fatalf("invitation %v", inv)
	}
	if dig(before[1].raw, "_embedded", "conversation", "state") != "Incoming" {
		t.Fatalf("conversation %v", before[1].raw)
	}
	if before[3].raw["link"].(map[string]any)["title"] != "Bob Example" {
		t.Fatalf("participant title %v", before[3].raw)
	}

	done, ok := find(after, "messagingInvitation", "completed")
	if !ok || done.raw["status"] != "Success" {
		t.Fatalf("after accept %v", summary(after))
	}
	if messagingLink(t, after, "sendMessage") == "" {
		t.Fatal("no sendMessage link")
	}
	msg, _ := find(after, "message", "completed")
	m := dig(msg.raw, "_embedded", "message").(map[string]any)
	ts, _ := m["timeStamp"].(string)
	if m["direction"] != "Incoming" || dig(m, "_links", "plainMessage", "href") != "data:text/plain;charset=utf-8,Hello..+This+is+Bob+Here.." ||
		!strings.HasPrefix(ts, "/Date(") || dig(m, "_links", "participant", "title") != "Bob Example" {
		t.Fatalf("first message event %v", m)
	}
	if got := e.emu.Received("alice@contoso.com"); len(got) != 1 || got[0].Text != "Hello.. This is Bob Here.." || got[0].From != "sip:bob@contoso.com" {
		t.Fatalf("received %+v", got)
	}

	// A later message is one message event; HTML goes out as htmlMessage.
	if _, err := e.emu.Peer("bob@contoso.com").SendHTML("alice@contoso.com", "<b>bold</b> move"); err != nil {
		t.Fatal(err)
	}
	next, _ := find(c.pollUntil("message", "completed"), "message", "completed")
	links := dig(next.raw, "_embedded", "message", "_links").(map[string]any)
	if dig(links, "htmlMessage", "href") != "data:text/html;charset=utf-8,"+url.QueryEscape("<b>bold</b> move") ||
		dig(links, "plainMessage", "href") != "data:text/plain;charset=utf-8,bold+move" {
		t.Fatalf("html message links %v", links)
	}
}

func TestPlainOnlyApplicationGetsPlainText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MessageEventType: "started"})
	c := e.available("alice@contoso.com", "alice-pw", "Plain")
	if _, err := e.emu.Peer("bob@contoso.com").SendHTML("alice@contoso.com", "<i>hi</i> &amp; bye"); err != nil {
		t.Fatal(err)
	}
	before := c.pollUntil("participant", "added")
	inv, _ := find(before, "messagingInvitation", "started")
	if got := dig(inv.raw, "_embedded", "messagingInvitation", "_links", "message", "href"); got != "data:text/plain;charset=utf-8,hi+%26+bye" {
		t.Fatalf("invitation message %v", got)
	}
	c.postJSON(dig(inv.raw, "_embedded", "messagingInvitation", "_links", "accept", "href").(string), nil)
	msg, _ := find(c.pollUntil("message", "started"), "message", "started")
	if dig(msg.raw, "_embedded", "message", "_links", "htmlMessage") != nil {
		t.Fatal("htmlMessage sent to a Plain-only application")
	}
}

func TestDeclineMatchesCapture(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "ping"); err != nil {
		t.Fatal(err)
	}
	inv, _ := find(c.pollUntil("participant", "added"), "messagingInvitation", "started")
	decline := dig(inv.raw, "_embedded", "messagingInvitation", "_links", "decline", "href").(string)
	if r := c.postJSON(decline, map[string]string{"reason": "Local"}); r.status != http.StatusNoContent {
		t.Fatalf("decline: %d", r.status)
	}
	evs := c.pollUntil("conversation", "deleted")
	done, _ := find(evs, "messagingInvitation", "completed")
	r := done.raw["reason"].(map[string]any)
	if done.raw["status"] != "Failure" || r["code"] != "LocalFailure" || r["subcode"] != "Declined" || r["message"] != "Your invitation was declined." ||
		dig(done.raw, "_embedded", "messagingInvitation", "state") != "Failed" {
		t.Fatalf("completed %v", done.raw)
	}
	if got := strings.Join(summary(evs[1:]), ","); got != "conversation:messaging/updated,conversation:localParticipant/deleted,communication:conversation/deleted" {
		t.Fatalf("teardown %s", got)
	}
	if sent := e.emu.Sent("bob@contoso.com"); len(sent) != 1 || !sent[0].Failed {
		t.Fatalf("sender not told of the failure: %+v", sent)
	}
	if r := c.postJSON(decline, nil); r.status != http.StatusConflict {
		t.Fatalf("second decline: %d", r.status)
	}
}

func TestUnansweredInvitationTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "anyone?"); err != nil {
		t.Fatal(err)
	}
	inv, _ := find(c.pollUntil("participant", "added"), "messagingInvitation", "started")
	e.clock.Advance(29 * time.Second)
	if e.emu.Sent("bob@contoso.com")[0].Failed {
		t.Fatal("failed before the timeout")
	}
	e.clock.Advance(time.Second)
	done, _ := find(c.pollUntil("messagingInvitation", "completed"), "messagingInvitation", "completed")
	if dig(done.raw, "reason", "subcode") != "Timeout" {
		t.Fatalf("completed %v", done.raw)
	}
	if !e.emu.Sent("bob@contoso.com")[0].Failed {
		t.Fatal("sender not told")
	}
	accept := dig(inv.raw, "_embedded", "messagingInvitation", "_links", "accept", "href").(string)
	if r := c.postJSON(accept, nil); r.status != http.StatusConflict {
		t.Fatalf("late accept: %d", r.status)
	}
}

func TestUnfetchedMessageIsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	th, _ := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "first")
	acceptIncoming(t, c)
	if err := e.emu.Peer("bob@contoso.com").Say(th, "into the void"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * time.Second)
	sent := e.emu.Sent("bob@contoso.com")
	if len(sent) != 2 || !sent[1].Failed {
		t.Fatalf("unfetched message not failed: %+v", sent)
	}
	if err := e.emu.Peer("bob@contoso.com").Say(th, "fetched"); err != nil {
		t.Fatal(err)
	}
	msgs := 0
	for _, x := range c.pollUntil("message", "completed") {
		if x.rel == "message" {
			msgs++
			if p := dig(x.raw, "_embedded", "message", "_links", "plainMessage", "href"); p != "data:text/plain;charset=utf-8,fetched" {
				t.Fatalf("dropped message delivered: %v", p)
			}
		}
	}
	if msgs != 1 {
		t.Fatalf("%d message events", msgs)
	}
}

func TestOutgoingConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	r := c.postJSON(c.commLink("startMessaging"), map[string]any{
		"to": "sip:bob@contoso.com", "subject": "Lunch", "importance": "Normal", "operationId": "op-1",
		"_links": map[string]any{"message": map[string]string{"href": "data:text/plain;charset=utf-8,Hi+Bob%0d%0a"}},
	})
	if r.status != http.StatusCreated || !strings.Contains(r.header.Get("Location"), "/communication/messagingInvitations/") {
		t.Fatalf("startMessaging: %d %v", r.status, r.header)
	}
	evs := c.pollUntil("messagingInvitation", "completed")
	want := "communication:messagingInvitation/started,communication:conversation/added,conversation:localParticipant/added,conversation:messaging/updated," +
		"communication:conversation/updated,conversation:participant/added,conversation:participantMessaging/added,conversation:messaging/updated,communication:messagingInvitation/completed"
	if got := strings.Join(summary(evs), ","); got != want {
		t.Fatalf("sequence\n got %s\nwant %s", got, want)
	}
	started := dig(evs[0].raw, "_embedded", "messagingInvitation").(map[string]any)
	if started["direction"] != "Outgoing" || started["operationId"] != "op-1" || dig(started, "_links", "cancel") == nil {
		t.Fatalf("started %v", started)
	}
	if dig(evs[8].raw, "_embedded", "messagingInvitation", "_embedded", "acceptedByParticipant") == nil || evs[8].raw["status"] != "Success" {
		t.Fatalf("completed %v", evs[8].raw)
	}
	got := e.emu.Received("bob@contoso.com")
	if len(got) != 1 || got[0].Text != "Hi Bob" || got[0].Subject != "Lunch" || got[0].OperationID != "op-1" {
		t.Fatalf("bob received %+v", got)
	}

	send := messagingLink(t, evs, "sendMessage")
	for i, param := range []string{"OperationContext", "operationId"} {
		r := c.do(http.MethodPost, send+"?"+param+"=op-"+param, "text/plain", []byte("What's up?"))
		if r.status != http.StatusCreated || !strings.HasSuffix(r.header.Get("Location"), "/messaging/messages/"+itoa(i+1)) {
			t.Fatalf("sendMessage: %d %v", r.status, r.header)
		}
		out, _ := find(c.pollUntil("message", "completed"), "message", "completed")
		m := dig(out.raw, "_embedded", "message").(map[string]any)
		if m["direction"] != "Outgoing" || m["operationId"] != "op-"+param || dig(m, "_links", "plainMessage") != nil {
			t.Fatalf("outgoing message event %v", m)
		}
	}
	if got := e.emu.Received("bob@contoso.com"); len(got) != 3 || got[2].OperationID != "op-operationId" {
		t.Fatalf("bob received %+v", got)
	}
	if r := c.do(http.MethodPost, send, "text/html; charset=utf-8", []byte("<p>x</p>")); r.status != http.StatusCreated {
		t.Fatalf("html send: %d", r.status)
	}
	if got := e.emu.Received("bob@contoso.com"); got[3].HTML != "<p>x</p>" || got[3].Text != "x" {
		t.Fatalf("html received %+v", got[3])
	}
	if r := c.do(http.MethodPost, send, "application/json", []byte("{}")); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("json body: %d", r.status)
	}

	typing := messagingLink(t, evs, "setIsTyping")
	if r := c.postJSON(typing, nil); r.status != http.StatusNoContent || e.emu.TypingCount("alice@contoso.com") != 1 {
		t.Fatalf("typing: %d", r.status)
	}

	stop := messagingLink(t, evs, "stopMessaging")
	if r := c.postJSON(stop, nil); r.status != http.StatusNoContent {
		t.Fatalf("stop: %d", r.status)
	}
	c.pollUntil("conversation", "deleted")
	th := e.emu.Peer("bob@contoso.com").ThreadWith("alice@contoso.com")
	if th != "" {
		t.Fatalf("thread still open after stopMessaging: %s", th)
	}
	if r := c.do(http.MethodPost, send, "text/plain", []byte("late")); r.status != http.StatusNotFound {
		t.Fatalf("send after stop: %d", r.status)
	}
}

func TestOutgoingFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	if err := e.emu.Peer("bob@contoso.com").SetPolicy(PolicyDecline); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Peer("carol@contoso.com").SetPolicy(PolicyTimeout); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ to, subcode string }{
		{"sip:bob@contoso.com", "Declined"},
		{"sip:carol@contoso.com", "Timeout"},
		{"sip:nobody@contoso.com", "DestinationNotFound"},
	}
	for _, tc := range cases {
		r := c.postJSON(c.commLink("startMessaging"), map[string]any{"to": tc.to, "operationId": "op"})
		if r.status != http.StatusCreated {
			t.Fatalf("%s: %d", tc.to, r.status)
		}
		if tc.subcode == "Timeout" {
			c.pollUntil("messaging", "updated")
			e.clock.Advance(30 * time.Second)
		}
		evs := c.pollUntil("conversation", "deleted")
		done, _ := find(evs, "messagingInvitation", "completed")
		if done.raw["status"] != "Failure" || dig(done.raw, "reason", "subcode") != tc.subcode {
			t.Fatalf("%s: %v", tc.to, done.raw)
		}
	}
	for _, body := range []map[string]any{
		{"to": "bob@contoso.com"},
		{"to": "sip:alice@contoso.com"},
		{"to": "sip:bob@contoso.com", "importance": "Whenever"},
		{"to": "sip:bob@contoso.com", "_links": map[string]any{"message": map[string]string{"href": "http://x"}}},
	} {
		if r := c.postJSON(c.commLink("startMessaging"), body); r.status != http.StatusBadRequest {
			t.Fatalf("%v: %d", body, r.status)
		}
	}
}

func TestManualPolicyAndThreadContinuation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	bob := e.emu.Peer("bob@contoso.com")
	if err := bob.SetPolicy(PolicyManual); err != nil {
		t.Fatal(err)
	}
	c.postJSON(c.commLink("startMessaging"), map[string]any{"to": "sip:bob@contoso.com", "threadId": "thread-42"})
	c.pollUntil("messaging", "updated")
	if got := bob.PendingInvitations(); len(got) != 1 || got[0] != "thread-42" {
		t.Fatalf("pending %v", got)
	}
	if r := c.postJSON(c.commLink("startMessaging"), map[string]any{"to": "sip:bob@contoso.com", "threadId": "thread-42"}); r.status != http.StatusConflict {
		t.Fatalf("duplicate threadId: %d", r.status)
	}
	if err := bob.Accept("thread-42"); err != nil {
		t.Fatal(err)
	}
	c.pollUntil("messagingInvitation", "completed")
	if bob.ThreadWith("alice@contoso.com") != "thread-42" {
		t.Fatal("thread id not kept")
	}
	if err := bob.Accept("thread-42"); err == nil {
		t.Fatal("accepting twice succeeded")
	}

	if err := bob.Typing("thread-42", true); err != nil {
		t.Fatal(err)
	}
	typ := c.pollUntil("participant", "added")
	if dig(typ[len(typ)-1].raw, "in", "rel") != "typingParticipants" {
		t.Fatalf("typing event %v", typ[len(typ)-1].raw)
	}
	e.clock.Advance(6 * time.Second)
	gone := c.pollUntil("participant", "deleted")
	if dig(gone[len(gone)-1].raw, "in", "rel") != "typingParticipants" {
		t.Fatalf("typing did not lapse: %v", gone[len(gone)-1].raw)
	}

	// Bob closes the window: messaging disconnects, alice may addMessaging.
	if err := bob.Leave("thread-42"); err != nil {
		t.Fatal(err)
	}
	evs := c.pollUntil("messaging", "updated")
	add := messagingLink(t, evs, "addMessaging")
	if err := bob.SetPolicy(PolicyAccept); err != nil {
		t.Fatal(err)
	}
	r := c.postJSON(add, map[string]any{"operationId": "again", "_links": map[string]any{"message": map[string]string{"href": "data:text/plain;base64,YmFjaz8="}}})
	if r.status != http.StatusCreated {
		t.Fatalf("addMessaging: %d %s", r.status, r.body)
	}
	c.pollUntil("messagingInvitation", "completed")
	if got := e.emu.Received("bob@contoso.com"); len(got) != 1 || got[0].Text != "back?" || got[0].ThreadID != "thread-42" {
		t.Fatalf("bob received %+v", got)
	}
}

func TestForkedInvitationAnsweredElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	first := e.available("alice@contoso.com", "alice-pw")
	second := &raw{t: t, base: e.srv.URL, token: first.token}
	r := second.postJSON(appsPath, map[string]string{"userAgent": "other/1", "endpointId": "ep-2", "culture": "en-US"})
	second.app = r.json(t)
	second.events = dig(second.app, "_links", "events", "href").(string)
	second.postJSON(second.meLink("makeMeAvailable"), map[string]any{"supportedModalities": []string{"Messaging"}})
	second.poll()
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "who gets this?"); err != nil {
		t.Fatal(err)
	}
	acceptIncoming(t, first)
	done, _ := find(second.pollUntil("messagingInvitation", "completed"), "messagingInvitation", "completed")
	if dig(done.raw, "reason", "subcode") != "AnsweredElsewhere" {
		t.Fatalf("other endpoint: %v", done.raw)
	}
}
