package skypeapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

// store is what a bridge keeps: bridged message ids (its dedupe) and the
// arrival time of the newest one (its catch-up point).
type store struct {
	mu      sync.Mutex
	bridged map[string]int // content -> times bridged
	ids     map[string]bool
	last    time.Time
}

func (s *store) put(m *chatsvc.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Kind() != chatsvc.KindText || s.ids[string(m.ID)] {
		return
	}
	s.ids[string(m.ID)] = true
	s.bridged[m.Content]++
	if m.Time().After(s.last) {
		s.last = m.Time()
	}
}

func (s *store) count(content string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bridged[content]
}

func (s *store) lastTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

type storeHandler struct {
	s *store
	c *skypeapi.Client
}

func (h storeHandler) HandleEvent(_ context.Context, ev *chatsvc.EventMessage) error {
	if m, err := ev.Message(); err == nil {
		h.s.put(m)
	}
	return nil
}

func (h storeHandler) HandleGap(ctx context.Context, since time.Time) {
	backlog, _ := h.c.CatchUp(ctx, since)
	for _, b := range backlog {
		for i := range b.Messages {
			h.s.put(&b.Messages[i])
		}
	}
}

// A bridge killed mid-session and started again from its stored session
// and catch-up point neither loses nor doubles a message.
func TestRestartResumesWithoutLossOrDuplicates(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	s, err := e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	db := &store{bridged: map[string]int{}, ids: map[string]bool{}}
	first, err := skypeapi.NewClient(e.cfg, *s, skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx1, kill := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Listen(ctx1, storeHandler{db, first}, skypeapi.ListenOptions{KeepAlive: -1}) }()
	subscribed(t, e, "live:alice")
	e.emu.Send("bob.2", "live:alice", "m1")
	e.emu.Send("bob.2", "live:alice", "m2")
	waitFor(t, "m1 and m2", func() bool { return db.count("m1") == 1 && db.count("m2") == 1 })
	kill() // like kill -9: no logout, the endpoint and its queue stay behind
	<-done
	e.emu.Send("bob.2", "live:alice", "m3")
	g := e.emu.CreateGroup("bob.2", "while down", "live:alice")
	e.emu.Send("bob.2", g, "m4")

	second, err := skypeapi.NewClient(e.cfg, first.Session(), skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := storeHandler{db, second}
	h.HandleGap(ctxT(t), db.lastTime().Add(-time.Minute)) // start-up catch-up
	listen(t, second, h, skypeapi.ListenOptions{KeepAlive: -1})
	waitFor(t, "the second endpoint", func() bool { return e.emu.Endpoints("live:alice").Subscribed == 2 })
	e.emu.Send("bob.2", "live:alice", "m5")
	waitFor(t, "m5", func() bool { return db.count("m5") == 1 })
	for _, m := range []string{"m1", "m2", "m3", "m4", "m5"} {
		if n := db.count(m); n != 1 {
			t.Fatalf("%s bridged %d times", m, n)
		}
	}
}
