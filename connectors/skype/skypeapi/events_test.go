package skypeapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

// subscribed waits until who's endpoint is subscribed and polling.
func subscribed(t *testing.T, e *env, who string) {
	t.Helper()
	waitFor(t, who+" polling", func() bool {
		st := e.emu.Endpoints(who)
		return st.Subscribed == 1 && st.Polls >= 1
	})
}

func countAcks(e *env, id string) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if strings.HasSuffix(r.Path, "/messages/"+id+"/ack") {
			n++
		}
	}
	return n
}

func TestListenDeliversEchoesAndAcks(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	id := e.emu.Send("bob.2", "live:alice", "hi alice")
	waitFor(t, "bob's message", func() bool { return len(rec.messages("hi alice")) == 1 })
	m := rec.messages("hi alice")[0]
	conv, _ := m.Conversation()
	if string(m.ID) != id || m.Sender() != "8:bob.2" || conv != "8:bob.2" || m.IMDisplayName != "Bob Brown" {
		t.Fatalf("message %+v", m)
	}
	waitFor(t, "the ack", func() bool { return countAcks(e, id) == 1 && e.emu.Endpoints("live:alice").Pending == 0 })
	// Own message: comes back as an echo with the clientmessageid sent.
	res, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "echo me"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "echo", func() bool { return len(rec.messages("echo me")) == 1 })
	if echo := rec.messages("echo me")[0]; string(echo.ClientMessageID) != res.ClientMessageID || echo.Sender() != c.MRI() {
		t.Fatalf("echo %+v", echo)
	}
	// Typing from bob arrives, and never for alice's own typing.
	e.emu.Typing("bob.2", "live:alice")
	waitFor(t, "typing", func() bool {
		for _, ev := range rec.ofType(chatsvc.ResourceNewMessage) {
			if m, _ := ev.Message(); m != nil && m.Kind() == chatsvc.KindTyping {
				return true
			}
		}
		return false
	})
}

func TestListenEditsDeletesAndThreadEvents(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	id := e.emu.Send("bob.2", "live:alice", "typo")
	waitFor(t, "original", func() bool { return len(rec.messages("typo")) == 1 })
	orig := rec.messages("typo")[0]
	e.emu.Edit("bob.2", "live:alice", id, "fixed")
	waitFor(t, "edit", func() bool { return len(rec.messages("fixed")) == 1 })
	ed := rec.messages("fixed")[0]
	if !ed.IsEdited() || ed.IsDeleted() || ed.SkypeEditedID != orig.ClientMessageID || !strings.Contains(ed.Content, "<e_m ") {
		t.Fatalf("edit %+v", ed)
	}
	e.emu.Delete("bob.2", "live:alice", id)
	waitFor(t, "delete", func() bool {
		for _, m := range rec.messages("") {
			if m.IsDeleted() && m.SkypeEditedID == orig.ClientMessageID {
				return true
			}
		}
		return false
	})
	g := e.emu.CreateGroup("bob.2", "Plans", "live:alice")
	e.emu.SetTopic("bob.2", g, "New plans")
	waitFor(t, "thread update", func() bool {
		for _, ev := range rec.ofType(chatsvc.ResourceThreadUpdate) {
			th, err := ev.Thread()
			if err == nil && th.ID == g && th.Topic() == "New plans" && len(th.Members) == 2 {
				return true
			}
		}
		return false
	})
	e.emu.Read("live:alice", "bob.2", id)
	waitFor(t, "own horizon update", func() bool {
		for _, ev := range rec.ofType(chatsvc.ResourceConversationUpdate) {
			cv, err := ev.Conversation()
			if err == nil && cv.ID == "8:bob.2" && cv.Horizon().MessageID == string(orig.ClientMessageID) {
				return true
			}
		}
		return false
	})
}

func TestListenLostAckIsRedeliveredButHandledOnce(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.LoseNextAcks("live:alice", 1)
	id := e.emu.Send("bob.2", "live:alice", "once")
	// The event comes twice (the first ack is lost); the second ack sticks.
	waitFor(t, "the redelivery's ack", func() bool { return countAcks(e, id) >= 2 && e.emu.Endpoints("live:alice").Pending == 0 })
	e.emu.Send("bob.2", "live:alice", "after")
	waitFor(t, "the next message", func() bool { return len(rec.messages("after")) == 1 })
	if n := len(rec.messages("once")); n != 1 {
		t.Fatalf("handled %d times", n)
	}
}

func TestListenDroppedPollLosesNothing(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.DropNextPolls("live:alice", 1)
	e.emu.Send("bob.2", "live:alice", "through the drop")
	waitFor(t, "the message after the drop", func() bool { return len(rec.messages("through the drop")) == 1 })
	e.emu.Send("bob.2", "live:alice", "next")
	waitFor(t, "the next message", func() bool { return len(rec.messages("next")) == 1 })
	if n := len(rec.messages("through the drop")); n != 1 {
		t.Fatalf("handled %d times", n)
	}
}

func TestListenWithoutRedeliveryStillSurvivesDrop(t *testing.T) {
	// With redelivery off, a dropped answer loses events on the server side;
	// the emulator then behaves like a lapsed endpoint would for the client
	// only through history. This checks the client keeps polling.
	e := newEnv(t, skypeemu.Options{NoRedelivery: true})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.Send("bob.2", "live:alice", "plain")
	waitFor(t, "plain", func() bool { return len(rec.messages("plain")) == 1 })
}

func TestListenEndpointLostReRegistersAndReportsGap(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.DropEndpoints("live:alice")
	waitFor(t, "re-registration", func() bool {
		st := e.emu.Endpoints("live:alice")
		return st.Registrations == 2 && st.Subscribed == 1 && rec.gapCount() == 1
	})
	e.emu.Send("bob.2", "live:alice", "after 729")
	waitFor(t, "message on the new endpoint", func() bool { return len(rec.messages("after 729")) == 1 })
}

func TestListenSubscriptionLostResubscribes(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.DropSubscriptions("live:alice")
	waitFor(t, "resubscription", func() bool { return rec.gapCount() == 1 && e.emu.Endpoints("live:alice").Subscribed == 1 })
	if st := e.emu.Endpoints("live:alice"); st.Registrations != 1 {
		t.Fatalf("a lost subscription must not re-register: %+v", st)
	}
	e.emu.Send("bob.2", "live:alice", "after 450")
	waitFor(t, "message after resubscribing", func() bool { return len(rec.messages("after 450")) == 1 })
}

func TestListenHandlerFailureIsRetried(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	failures := 0
	rec := &recorder{fail: func(ev *chatsvc.EventMessage) error {
		if m, _ := ev.Message(); m != nil && m.Content == "flaky" && failures < 2 {
			failures++
			return errors.New("database busy")
		}
		return nil
	}}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.Send("bob.2", "live:alice", "flaky")
	waitFor(t, "the third attempt", func() bool { return len(rec.messages("flaky")) == 1 })
	if failures != 2 {
		t.Fatalf("failures = %d", failures)
	}
}

func TestListenOnRedirectedHost(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	e.emu.RedirectMessaging("live:alice")
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	e.emu.Send("bob.2", "live:alice", "regional")
	waitFor(t, "message via the regional host", func() bool { return len(rec.messages("regional")) == 1 })
	if !e.emu.Endpoints("live:alice").OnAltHost || c.Registration().MsgsHost != e.emu.AltURL() {
		t.Fatal("not on the alternate host")
	}
}

func TestListenKeepAlive(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	listen(t, c, &recorder{}, skypeapi.ListenOptions{KeepAlive: 20 * time.Millisecond})
	waitFor(t, "keep-alive pings", func() bool { return e.emu.Endpoints("live:alice").Pings >= 2 })
}

func TestListenPresenceEvents(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{})
	subscribed(t, e, "live:alice")
	if err := c.SubscribePresence(ctxT(t), []string{"bob.2"}); err != nil {
		t.Fatal(err)
	}
	e.emu.SetStatus("bob.2", "Away")
	waitFor(t, "bob's presence", func() bool {
		for _, ev := range rec.ofType(chatsvc.ResourceUserPresence) {
			if p, ok := skypeapi.PresenceOf(&ev); ok && p.MRI == "8:bob.2" && p.Status == "Away" {
				return true
			}
		}
		return false
	})
}

func TestListenEndsWhenSessionCannotBeRenewed(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c, err := skypeapi.NewClient(e.cfg, skypeapi.Session{SkypeToken: e.emu.MintToken("live:alice"), UserID: "live:alice"}, skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireSkypeTokens("live:alice")
	e.emu.ExpireRegistrations("live:alice")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Listen(ctx, &recorder{}, skypeapi.ListenOptions{KeepAlive: -1}); !errors.Is(err, skypeapi.ErrTokenRejected) {
		t.Fatalf("Listen = %v", err)
	}
}

func TestEventKeyStableAcrossRedelivery(t *testing.T) {
	raw := []byte(`{"id":1001,"type":"EventMessage","resourceType":"NewMessage","time":"2024-05-08T03:19:56Z",
	 "resourceLink":"https://h/v1/users/ME/conversations/8:joe/messages/1715138396357",
	 "resource":{"id":"1715138396357","version":"1715138396357","messagetype":"Text","content":"x","conversationLink":"https://h/v1/users/ME/conversations/8:joe"}}`)
	a, err := chatsvc.ParseEventMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := chatsvc.ParseEventMessage([]byte(strings.Replace(string(raw), `"id":1001`, `"id":1005`, 1)))
	if skypeapi.EventKey(a) != skypeapi.EventKey(b) {
		t.Fatal("a redelivered message under a new event id must have the same key")
	}
	c, _ := chatsvc.ParseEventMessage([]byte(strings.Replace(string(raw), `"version":"1715138396357"`, `"version":"1715138399999"`, 1)))
	if skypeapi.EventKey(a) == skypeapi.EventKey(c) {
		t.Fatal("a new version must have a new key")
	}
}

func TestPresenceOf(t *testing.T) {
	ev, err := chatsvc.ParseEventMessage([]byte(`{"id":1,"resourceType":"UserPresence","resourceLink":"https://h/v1/users/ME/contacts/8:x",
	 "resource":{"id":"messagingService","type":"UserPresenceDoc","availability":"Online","status":"Idle","selfLink":"https://h/v1/users/8:joe.4/presenceDocs/messagingService"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := skypeapi.PresenceOf(ev); !ok || p.MRI != "8:joe.4" || p.Status != "Idle" {
		t.Fatalf("%+v %v", p, ok)
	}
	ev.ResourceType = chatsvc.ResourceNewMessage
	if _, ok := skypeapi.PresenceOf(ev); ok {
		t.Fatal("a message is no presence")
	}
}

func TestListenFailedEventHoldsTheCumulativeAck(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Both are queued before the first poll, so they come in one answer.
	e.emu.Send("bob.2", "live:alice", "first fails once")
	e.emu.Send("bob.2", "live:alice", "second works")
	failed := false
	rec := &recorder{fail: func(ev *chatsvc.EventMessage) error {
		if m, _ := ev.Message(); m != nil && m.Content == "first fails once" && !failed {
			failed = true
			return errors.New("transient")
		}
		return nil
	}}
	listen(t, c, rec, skypeapi.ListenOptions{KeepAlive: -1})
	waitFor(t, "the failed event's second delivery", func() bool { return len(rec.messages("first fails once")) == 1 })
	if !failed || len(rec.messages("second works")) != 1 {
		t.Fatalf("failed %v, second %d", failed, len(rec.messages("second works")))
	}
}

func TestListenExpiredRegistrationReportsGap(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	h := &catchUpHandler{c: c}
	listen(t, c, h, skypeapi.ListenOptions{KeepAlive: -1})
	subscribed(t, e, "live:alice")
	e.emu.ExpireRegistrations("live:alice")
	// The held poll still ends normally; the next one gets 401 and the
	// client registers a new endpoint, which must be reported as a gap.
	waitFor(t, "the new endpoint and the gap", func() bool {
		return e.emu.Endpoints("live:alice").Registrations == 2 && h.gapCount() == 1
	})
	e.emu.Send("bob.2", "live:alice", "on the new endpoint")
	waitFor(t, "events on the new endpoint", func() bool { return len(h.messages("on the new endpoint")) == 1 })
	if h.errCount() != 0 {
		t.Fatalf("%d catch-up errors", h.errCount())
	}
}

func TestListenFollowsMessagingMovedMidSession(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	h := &catchUpHandler{c: c}
	listen(t, c, h, skypeapi.ListenOptions{KeepAlive: -1})
	subscribed(t, e, "live:alice")
	e.emu.MoveMessaging("live:alice")
	waitFor(t, "the move", func() bool {
		return c.Registration() != nil && c.Registration().MsgsHost == e.emu.AltURL() && h.gapCount() == 1
	})
	e.emu.Send("bob.2", "live:alice", "on the new host")
	waitFor(t, "events on the new host", func() bool { return len(h.messages("on the new host")) == 1 })
}
