package ucwaemu

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAckProtocolExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw") // consumed batch 1
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "one"); err != nil {
		t.Fatal(err)
	}
	ack2 := c.events
	if !strings.HasSuffix(ack2, "ack=2") {
		t.Fatalf("next after first batch: %s", ack2)
	}
	first := c.do(http.MethodGet, ack2, "", nil)
	again := c.do(http.MethodGet, ack2, "", nil)
	if first.status != http.StatusOK || !bytes.Equal(first.body, again.body) {
		t.Fatalf("repeating ack=2 must return the same batch:\n%s\n%s", first.body, again.body)
	}
	if len(events(first.json(t))) == 0 {
		t.Fatal("batch 2 has no events")
	}
	if next := dig(first.json(t), "_links", "next", "href"); next != strings.Replace(ack2, "ack=2", "ack=3", 1) {
		t.Fatalf("next link %v", next)
	}

	// Acknowledge batch 2 by asking for 3; the participant event follows.
	c.events = dig(first.json(t), "_links", "next", "href").(string)
	b3 := c.poll()
	if _, ok := find(events(b3), "participant", "added"); !ok {
		t.Fatalf("batch 3: %v", summary(events(b3)))
	}

	// Batch 2 is acknowledged now: asking for it again is out of range.
	stale := c.do(http.MethodGet, ack2, "", nil).json(t)
	resync, _ := dig(stale, "_links", "resync", "href").(string)
	if resync == "" || dig(stale, "_links", "next") != nil || stale["sender"] != nil {
		t.Fatalf("stale ack: %v", stale)
	}
	// Batch 3 is not acknowledged, so resync points back at it.
	if !strings.HasSuffix(resync, "ack=3") {
		t.Fatalf("resync %s, want the unacknowledged batch 3", resync)
	}
	future := c.do(http.MethodGet, strings.Replace(ack2, "ack=2", "ack=99", 1), "", nil).json(t)
	if dig(future, "_links", "resync", "href") != resync {
		t.Fatalf("future ack: %v", future)
	}
	garbage := c.do(http.MethodGet, strings.Replace(ack2, "ack=2", "ack=x", 1), "", nil).json(t)
	if dig(garbage, "_links", "resync") == nil {
		t.Fatalf("non-numeric ack: %v", garbage)
	}
}

func TestOlderParkedPollIsReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	older := make(chan reply, 1)
	go func() { older <- c.doCtx(ctxT(t), http.MethodGet, c.events, "", nil) }()
	waitParked(t, e, "alice@contoso.com")
	newer := make(chan reply, 1)
	go func() { newer <- c.doCtx(ctxT(t), http.MethodGet, c.events, "", nil) }()
	r := <-older
	if r.status != http.StatusConflict || r.json(t)["subcode"] != "PGetReplaced" {
		t.Fatalf("older poll: %d %s", r.status, r.body)
	}
	waitParked(t, e, "alice@contoso.com")
	if !e.emu.ReplacePGet(c.appID) {
		t.Fatal("no parked poll to replace")
	}
	if r := <-newer; r.status != http.StatusConflict {
		t.Fatalf("driver-replaced poll: %d", r.status)
	}
}

func TestIdlePollReleasedAfterTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	done := make(chan reply, 1)
	href := c.events
	go func() { done <- c.doCtx(ctxT(t), http.MethodGet, href+"&timeout=200", "", nil) }()
	waitParked(t, e, "alice@contoso.com")
	e.clock.Advance(199 * time.Second)
	select {
	case r := <-done:
		t.Fatalf("released before the requested timeout: %s", r.body)
	default:
	}
	e.clock.Advance(time.Second)
	r := <-done
	b := r.json(t)
	if r.status != http.StatusOK || b["sender"] != nil || dig(b, "_links", "next", "href") == nil {
		t.Fatalf("empty batch: %d %s", r.status, r.body)
	}
}

func TestResumeAfterLongInactivity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{ResumeAfter: 5 * time.Minute})
	c := e.available("alice@contoso.com", "alice-pw")
	th, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "hi")
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := find(c.pollUntil("messagingInvitation", "started"), "messagingInvitation", "started")
	accept := dig(inv.raw, "_embedded", "messagingInvitation", "_links", "accept", "href").(string)
	if r := c.postJSON(accept, nil); r.status != http.StatusNoContent {
		t.Fatalf("accept: %d", r.status)
	}
	c.pollUntil("message", "completed")
	e.clock.Advance(6 * time.Minute)
	if err := e.emu.Peer("bob@contoso.com").Say(th, "lost"); err != nil {
		t.Fatal(err)
	}
	b := c.poll()
	if dig(b, "_links", "resume", "href") == nil || dig(b, "_links", "next") != nil {
		t.Fatalf("expected a resume link: %v", b["_links"])
	}
	if len(events(b)) != 0 {
		t.Fatalf("transient events survived the reset: %v", summary(events(b)))
	}
	if info, _ := e.emu.Thread(th); !info.Ended || len(info.Members) != 1 {
		t.Fatalf("conversation not closed by the reset: %+v", info)
	}
	if r := c.do(http.MethodGet, c.commLink("conversations"), "", nil); dig(r.json(t), "_links", "conversation") != nil {
		t.Fatalf("conversations after resume: %s", r.body)
	}
	// ForceResume does the same on demand.
	if !e.emu.ForceResume(c.appID) {
		t.Fatal("ForceResume")
	}
	if b := c.poll(); dig(b, "_links", "resume") == nil {
		t.Fatalf("ForceResume: %v", b["_links"])
	}
}
