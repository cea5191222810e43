package skypeapi_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

func TestCatchUpAfterLostEndpoint(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	g := e.emu.CreateGroup("bob.2", "Old group", "live:alice")
	old := e.emu.Send("bob.2", "live:alice", "before")
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(old, 10, 64)
	since := time.UnixMilli(n)
	// The endpoint lapses; what is said meanwhile reaches no event queue.
	e.emu.DropEndpoints("live:alice")
	e.emu.Send("bob.2", "live:alice", "gap 1")
	e.emu.Send("bob.2", g, "gap 2")
	e.emu.Send("bob.2", "live:alice", "gap 3")
	e.emu.Read("live:alice", "bob.2", old) // changes the 1:1, not a message
	backlog, err := c.CatchUp(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, b := range backlog {
		for _, m := range b.Messages {
			got[b.Conversation.ID] = append(got[b.Conversation.ID], m.Content)
		}
	}
	if len(got) != 2 || len(got["8:bob.2"]) != 2 || got["8:bob.2"][0] != "gap 1" || got["8:bob.2"][1] != "gap 3" || len(got[g]) != 1 || got[g][0] != "gap 2" {
		t.Fatalf("backlog %v", got)
	}
	// The client re-registered on the way (729 on the first call).
	if e.emu.Endpoints("live:alice").Registrations != 2 {
		t.Fatalf("endpoints %+v", e.emu.Endpoints("live:alice"))
	}
	// Nothing newer: nothing to catch up.
	last := e.emu.Messages("live:alice", "bob.2")
	ln, _ := strconv.ParseInt(last[len(last)-1].ID, 10, 64)
	backlog, err = c.CatchUp(ctx, time.UnixMilli(ln).Add(time.Hour))
	if err != nil || len(backlog) != 0 {
		t.Fatalf("later catch-up %v %+v", err, backlog)
	}
}

// catchUpHandler runs CatchUp from HandleGap, as the bridge does.
type catchUpHandler struct {
	recorder
	c       *skypeapi.Client
	bmu     sync.Mutex
	backlog []string
	errs    []error
}

func (h *catchUpHandler) HandleGap(ctx context.Context, since time.Time) {
	h.recorder.HandleGap(ctx, since)
	b, err := h.c.CatchUp(ctx, since)
	h.bmu.Lock()
	defer h.bmu.Unlock()
	if err != nil {
		h.errs = append(h.errs, err)
	}
	for _, cb := range b {
		for _, m := range cb.Messages {
			h.backlog = append(h.backlog, m.Content)
		}
	}
}

func (h *catchUpHandler) inBacklog(s string) bool {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	for _, b := range h.backlog {
		if b == s {
			return true
		}
	}
	return false
}

func (h *catchUpHandler) errCount() int {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	return len(h.errs)
}

func registrationAttempts(e *env) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.Method == "POST" && r.Path == "/v1/users/ME/endpoints" {
			n++
		}
	}
	return n
}

func TestListenGapTriggersCatchUp(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	h := &catchUpHandler{c: c}
	listen(t, c, h, skypeapi.ListenOptions{KeepAlive: -1})
	subscribed(t, e, "live:alice")
	e.emu.Send("bob.2", "live:alice", "seen live")
	waitFor(t, "live message", func() bool { return len(h.messages("seen live")) == 1 })
	// Registrations fail for a while, so the message below reaches no
	// endpoint and can only come back through history.
	e.emu.FailNext("POST", "/v1/users/ME/endpoints", 503, 503, 1_000_000)
	before := registrationAttempts(e)
	e.emu.DropEndpoints("live:alice")
	waitFor(t, "a failed re-registration", func() bool { return registrationAttempts(e) > before })
	e.emu.Send("bob.2", "live:alice", "said in the gap")
	e.emu.ClearFaults()
	waitFor(t, "the backlog", func() bool { return h.inBacklog("said in the gap") })
	if h.gapCount() != 1 || h.errCount() != 0 {
		t.Fatalf("gaps %d, %d catch-up errors", h.gapCount(), h.errCount())
	}
	if len(h.messages("said in the gap")) != 0 {
		t.Fatal("the gap message also came as an event; catch-up was not exercised")
	}
	e.emu.Send("bob.2", "live:alice", "after the gap")
	waitFor(t, "events again", func() bool { return len(h.messages("after the gap")) == 1 })
}
