package ucwaemu

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// acceptMeeting waits for an onlineMeetingInvitation, accepts it and
// returns the events up to its completion.
func acceptMeeting(t *testing.T, c *raw) (inv map[string]any, before, after []ev) {
	t.Helper()
	before = c.pollUntil("participant", "added")
	if _, ok := find(before, "messagingInvitation", "started"); ok {
		t.Fatalf("group invitation is a messagingInvitation: %v", summary(before))
	}
	started, ok := find(before, "onlineMeetingInvitation", "started")
	if !ok {
		t.Fatalf("no onlineMeetingInvitation in %v", summary(before))
	}
	inv = dig(started.raw, "_embedded", "onlineMeetingInvitation").(map[string]any)
	if r := c.postJSON(dig(inv, "_links", "accept", "href").(string), nil); r.status != http.StatusNoContent {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	return inv, before, c.pollUntil("onlineMeetingInvitation", "completed")
}

// joinIM posts addMessaging (with an optional first text) in a
// Conferenced conversation and returns the events up to its completion.
func joinIM(t *testing.T, c *raw, messaging, text string) []ev {
	t.Helper()
	m := c.do(http.MethodGet, messaging, "", nil).json(t)
	if m["state"] != "Disconnected" || dig(m, "_links", "sendMessage") != nil {
		t.Fatalf("messaging before addMessaging %v", m)
	}
	req := map[string]any{"operationId": "join-im"}
	if text != "" {
		req["_links"] = map[string]any{"message": map[string]string{"href": "data:text/plain;charset=utf-8," + strings.ReplaceAll(text, " ", "+")}}
	}
	r := c.postJSON(dig(m, "_links", "addMessaging", "href").(string), req)
	if r.status != http.StatusCreated || !strings.Contains(r.header.Get("Location"), "/communication/messagingInvitations/") {
		t.Fatalf("addMessaging: %d %v %s", r.status, r.header, r.body)
	}
	evs := c.pollUntil("messagingInvitation", "completed")
	done, _ := find(evs, "messagingInvitation", "completed")
	if done.raw["status"] != "Success" || done.href != r.header.Get("Location") ||
		dig(done.raw, "_embedded", "messagingInvitation", "direction") != "Outgoing" ||
		dig(done.raw, "_embedded", "messagingInvitation", "operationId") != "join-im" {
		t.Fatalf("addMessaging completed %v", done.raw)
	}
	return evs
}

func TestGroupInvitationIsOnlineMeeting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	bob := e.emu.Peer("bob@contoso.com")
	th, err := bob.StartGroup([]string{"alice@contoso.com", "carol@contoso.com"}, "Standup", "morning all")
	if err != nil {
		t.Fatal(err)
	}
	inv, before, after := acceptMeeting(t, c)
	if got := strings.Join(summary(before), ","); got != "communication:onlineMeetingInvitation/started,communication:conversation/added,conversation:localParticipant/added,conversation:participant/added" {
		t.Fatalf("invitation sequence %s", got)
	}
	uri, _ := inv["onlineMeetingUri"].(string)
	if inv["rel"] != "onlineMeetingInvitation" || inv["direction"] != "Incoming" || inv["state"] != "Connecting" ||
		inv["threadId"] != th || inv["subject"] != "Standup" || inv["importance"] != "Normal" ||
		!strings.HasPrefix(uri, "sip:bob@contoso.com;gruu;opaque=app:conf:focus:id:") ||
		!strings.Contains(dig(inv, "_links", "self", "href").(string), "/communication/onlineMeetingInvitations/") ||
		dig(inv, "_links", "message", "href") != "data:text/plain;charset=utf-8,morning+all" ||
		dig(inv, "_links", "from", "title") != "Bob Example" || dig(inv, "_links", "to", "href") == nil ||
		dig(inv, "_links", "conversation", "href") == nil || dig(inv, "_links", "decline", "href") == nil ||
		dig(inv, "_embedded", "from", "name") != "Bob Example" || dig(inv, "_embedded", "from", "uri") != "sip:bob@contoso.com" {
		t.Fatalf("onlineMeetingInvitation %v", inv)
	}
	if dig(before[1].raw, "_embedded", "conversation", "state") != "Incoming" {
		t.Fatalf("conversation %v", before[1].raw)
	}
	// The invitation is served under its own collection only.
	self := dig(inv, "_links", "self", "href").(string)
	if r := c.do(http.MethodGet, self, "", nil); r.status != http.StatusOK || r.json(t)["state"] != "Connected" {
		t.Fatalf("GET invitation: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodGet, strings.Replace(self, "onlineMeetingInvitations", "messagingInvitations", 1), "", nil); r.status != http.StatusNotFound {
		t.Fatalf("GET as messagingInvitation: %d", r.status)
	}

	// Accepting joins the conference, not IM. (Carol's joining while the
	// invitation was open may come first.)
	if len(after) > 4 {
		after = after[len(after)-4:]
	}
	if got := strings.Join(summary(after), ","); got != "communication:conversation/updated,conversation:participant/added,conversation:participant/added,communication:onlineMeetingInvitation/completed" {
		t.Fatalf("accept sequence %s", got)
	}
	conv := dig(after[0].raw, "_embedded", "conversation").(map[string]any)
	for _, rel := range []string{"messaging", "participants", "localParticipant", "addParticipant"} {
		if dig(conv, "_links", rel, "href") == nil {
			t.Fatalf("conversation lacks %s: %v", rel, conv)
		}
	}
	if conv["state"] != "Conferenced" || conv["participantCount"] != float64(3) || len(conv["activeModalities"].([]any)) != 0 {
		t.Fatalf("conversation %v", conv)
	}
	if p := dig(after[1].raw, "_embedded", "participant", "uri"); p != "sip:bob@contoso.com" && p != "sip:carol@contoso.com" {
		t.Fatalf("participant %v", after[1].raw)
	}
	if after[3].raw["status"] != "Success" {
		t.Fatalf("completed %v", after[3].raw)
	}
	// The first text came with the invitation; later ones wait for IM.
	if got := e.emu.Received("alice@contoso.com"); len(got) != 1 || got[0].Text != "morning all" {
		t.Fatalf("received %+v", got)
	}
	if err := e.emu.Peer("carol@contoso.com").Say(th, "before you joined IM"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Typing(th, true); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.Received("alice@contoso.com"); len(got) != 1 {
		t.Fatalf("IM delivered before addMessaging: %+v", got)
	}
	info, _ := e.emu.Thread(th)
	if len(info.Members) != 3 || slices.Contains(info.InIM, "sip:alice@contoso.com") || len(info.InIM) != 2 {
		t.Fatalf("thread %+v", info)
	}
	messaging := dig(conv, "_links", "messaging", "href").(string)
	if r := c.do(http.MethodPost, messaging+"/messages", "text/plain", []byte("too early")); r.status != http.StatusConflict {
		t.Fatalf("send before addMessaging: %d", r.status)
	}

	// addMessaging joins the conference IM at once.
	evs := joinIM(t, c, messaging, "")
	if got := strings.Join(summary(evs), ","); got != "communication:messagingInvitation/started,conversation:messaging/updated,conversation:messaging/updated,communication:conversation/updated,conversation:participantMessaging/added,conversation:participantMessaging/added,conversation:participantMessaging/added,communication:messagingInvitation/completed" {
		t.Fatalf("addMessaging sequence %s", got)
	}
	m := dig(evs[2].raw, "_embedded", "messaging").(map[string]any)
	for _, rel := range []string{"sendMessage", "setIsTyping", "typingParticipants", "stopMessaging"} {
		if dig(m, "_links", rel, "href") == nil {
			t.Fatalf("messaging lacks %s: %v", rel, m)
		}
	}
	if m["state"] != "Connected" || m["negotiatedMessageFormats"] == nil {
		t.Fatalf("messaging %v", m)
	}
	if info, _ := e.emu.Thread(th); len(info.InIM) != 3 {
		t.Fatalf("thread %+v", info)
	}
	if r := c.postJSON(dig(m, "_links", "self", "href").(string)+"/messagingInvitations", nil); r.status != http.StatusConflict {
		t.Fatalf("second addMessaging: %d", r.status)
	}

	// Messages now flow both ways.
	if err := e.emu.Peer("carol@contoso.com").Say(th, "hi from carol"); err != nil {
		t.Fatal(err)
	}
	msg, _ := find(c.pollUntil("message", "completed"), "message", "completed")
	if dig(msg.raw, "_embedded", "message", "_links", "participant", "title") != "Carol Example" ||
		dig(msg.raw, "_embedded", "message", "_links", "plainMessage", "href") != "data:text/plain;charset=utf-8,hi+from+carol" {
		t.Fatalf("group message %v", msg.raw)
	}
	if got := e.emu.Received("alice@contoso.com"); len(got) != 2 || got[1].Text != "hi from carol" {
		t.Fatalf("received %+v", got)
	}
	if err := bob.Typing(th, true); err != nil {
		t.Fatal(err)
	}
	typing := c.pollUntil("participant", "added")
	if x := typing[len(typing)-1]; dig(x.raw, "in", "rel") != "typingParticipants" || !strings.HasSuffix(x.href, "/bob@contoso.com") {
		t.Fatalf("typing %v", x.raw)
	}
	if r := c.do(http.MethodPost, dig(m, "_links", "sendMessage", "href").(string), "text/plain", []byte("hi all")); r.status != http.StatusCreated {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	for _, who := range []string{"bob@contoso.com", "carol@contoso.com"} {
		got := e.emu.Received(who)
		if len(got) == 0 || got[len(got)-1].Text != "hi all" {
			t.Fatalf("%s received %+v", who, got)
		}
	}
}

func TestGroupConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	if err := e.emu.AddUser("dave@contoso.com", "Dave Example", ""); err != nil {
		t.Fatal(err)
	}
	c := e.available("alice@contoso.com", "alice-pw")
	bob := e.emu.Peer("bob@contoso.com")
	th, err := bob.StartGroup([]string{"alice@contoso.com", "carol@contoso.com"}, "Standup", "morning all")
	if err != nil {
		t.Fatal(err)
	}
	_, _, after := acceptMeeting(t, c)
	conv, _ := find(after, "conversation", "updated")
	conversation := dig(conv.raw, "_embedded", "conversation").(map[string]any)
	if conversation["participantCount"] != float64(3) || conversation["subject"] != "Standup" {
		t.Fatalf("conversation %v", conv.raw)
	}
	// A participant joining before the application joins IM is announced
	// without participantMessaging.
	if err := bob.AddParticipant(th, "dave@contoso.com"); err != nil {
		t.Fatal(err)
	}
	joined := c.pollUntil("participant", "added")
	if last := joined[len(joined)-1]; last.raw["link"].(map[string]any)["title"] != "Dave Example" {
		t.Fatalf("join event %v", last.raw)
	}
	evs := joinIM(t, c, dig(conversation, "_links", "messaging", "href").(string), "hello everyone")
	send := messagingLink(t, evs, "sendMessage")
	for _, who := range []string{"bob@contoso.com", "carol@contoso.com", "dave@contoso.com"} {
		got := e.emu.Received(who)
		if len(got) == 0 || got[len(got)-1].Text != "hello everyone" || got[len(got)-1].OperationID != "join-im" {
			t.Fatalf("%s received %+v", who, got)
		}
	}
	if err := e.emu.Peer("carol@contoso.com").Leave(th); err != nil {
		t.Fatal(err)
	}
	left := c.pollUntil("participant", "deleted")
	if !strings.HasSuffix(left[len(left)-1].href, "/participants/carol@contoso.com") {
		t.Fatalf("leave event %v", left[len(left)-1].raw)
	}
	parts := c.do(http.MethodGet, strings.TrimSuffix(send, "/messaging/messages")+"/participants", "", nil).json(t)
	if n := len(dig(parts, "_embedded", "participant").([]any)); n != 2 {
		t.Fatalf("%d participants listed, want bob and dave", n)
	}

	// The application adds someone itself.
	if err := e.emu.AddUser("erin@contoso.com", "Erin Example", ""); err != nil {
		t.Fatal(err)
	}
	addHref := dig(conversation, "_links", "addParticipant", "href").(string)
	if r := c.postJSON(addHref, map[string]string{"to": "sip:erin@contoso.com", "operationId": "add-1"}); r.status != http.StatusCreated {
		t.Fatalf("addParticipant: %d %s", r.status, r.body)
	}
	pinv, _ := find(c.pollUntil("participantInvitation", "completed"), "participantInvitation", "completed")
	if pinv.raw["status"] != "Success" {
		t.Fatalf("participant invitation %v", pinv.raw)
	}
	if info, _ := e.emu.Thread(th); len(info.Members) != 4 || !info.Group || len(info.InIM) != 4 {
		t.Fatalf("thread %+v", info)
	}
}

func TestAddedToOneToOneGetsOnlineMeeting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	bob := e.emu.Peer("bob@contoso.com")
	th, err := bob.SendIM("carol@contoso.com", "just us")
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.AddParticipant(th, "alice@contoso.com"); err != nil {
		t.Fatal(err)
	}
	inv, _, after := acceptMeeting(t, c)
	if dig(inv, "_links", "message") != nil || inv["threadId"] != th {
		t.Fatalf("invitation %v", inv)
	}
	if conv, _ := find(after, "conversation", "updated"); dig(conv.raw, "_embedded", "conversation", "state") != "Conferenced" {
		t.Fatalf("conversation %v", conv.raw)
	}
	if got := e.emu.Received("alice@contoso.com"); len(got) != 0 {
		t.Fatalf("received %+v", got)
	}
}

func TestOnlineMeetingInvitationDeclineAndTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	bob := e.emu.Peer("bob@contoso.com")
	th, err := bob.StartGroup([]string{"alice@contoso.com", "carol@contoso.com"}, "", "join us")
	if err != nil {
		t.Fatal(err)
	}
	started, _ := find(c.pollUntil("participant", "added"), "onlineMeetingInvitation", "started")
	inv := dig(started.raw, "_embedded", "onlineMeetingInvitation").(map[string]any)
	if r := c.postJSON(dig(inv, "_links", "decline", "href").(string), map[string]string{"reason": "Local"}); r.status != http.StatusNoContent {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	evs := c.pollUntil("conversation", "deleted")
	done, _ := find(evs, "onlineMeetingInvitation", "completed")
	if done.raw["status"] != "Failure" || dig(done.raw, "reason", "subcode") != "Declined" ||
		dig(done.raw, "_embedded", "onlineMeetingInvitation", "state") != "Failed" {
		t.Fatalf("declined %v", done.raw)
	}
	if info, _ := e.emu.Thread(th); slices.Contains(info.Members, "sip:alice@contoso.com") || len(info.Pending) != 0 {
		t.Fatalf("thread %+v", info)
	}
	if r := c.postJSON(dig(inv, "_links", "accept", "href").(string), nil); r.status != http.StatusConflict {
		t.Fatalf("late accept: %d", r.status)
	}

	if _, err := bob.StartGroup([]string{"alice@contoso.com", "carol@contoso.com"}, "", "anyone?"); err != nil {
		t.Fatal(err)
	}
	c.pollUntil("onlineMeetingInvitation", "started")
	e.clock.Advance(30 * time.Second)
	done, _ = find(c.pollUntil("onlineMeetingInvitation", "completed"), "onlineMeetingInvitation", "completed")
	if done.raw["status"] != "Failure" || dig(done.raw, "reason", "subcode") != "Timeout" {
		t.Fatalf("timed out %v", done.raw)
	}
}
