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

type env struct {
	t      *testing.T
	emu    *skypeemu.Emulator
	cfg    skypeapi.Config
	auth   *skypeapi.Auth
	mu     sync.Mutex
	sleeps []time.Duration
}

func newEnv(t *testing.T, o skypeemu.Options) *env {
	t.Helper()
	if o.PollHold == 0 {
		o.PollHold = 300 * time.Millisecond
	}
	emu := skypeemu.New(o)
	emu.Start()
	t.Cleanup(emu.Close)
	emu.AddUser("live:alice", "Alice Adams", "alice-pw")
	emu.AddUser("bob.2", "Bob Brown", "bob-pw")
	emu.AddUser("live:carol", "Carol Clark", "carol-pw")
	e := &env{t: t, emu: emu}
	u := emu.URL()
	e.cfg = skypeapi.Config{LoginLiveURL: u, EdgeURL: u, LoginSkypeURL: u, APIURL: u, ContactsURL: u, ProfileURL: u, MsgsHost: u, ASMURL: u,
		AllowInsecureHTTP: true, Retry: chatsvc.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		Sleep: e.sleep}
	a, err := skypeapi.NewAuth(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.auth = a
	return e
}

// sleep records the wait and waits at most a few milliseconds, so backoff
// is observable without slowing the tests.
func (e *env) sleep(ctx context.Context, d time.Duration) error {
	e.mu.Lock()
	e.sleeps = append(e.sleeps, d)
	e.mu.Unlock()
	t := time.NewTimer(min(d, 5*time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *env) sleepCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sleeps)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// client signs a user in through SOAP and returns a client that renews by
// signing in again.
func (e *env) client(login, password string) *skypeapi.Client {
	e.t.Helper()
	ctx := ctxT(e.t)
	s, err := e.auth.Login(ctx, login, password)
	if err != nil {
		e.t.Fatalf("login %s: %v", login, err)
	}
	c, err := skypeapi.NewClient(e.cfg, *s, skypeapi.Options{Renew: func(ctx context.Context) (*skypeapi.Session, error) {
		return e.auth.Login(ctx, login, password)
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) alice() *skypeapi.Client { return e.client("alice@example.com", "alice-pw") }
func (e *env) bob() *skypeapi.Client   { return e.client("bob.2", "bob-pw") }

// waitFor polls a condition (not a fixed sleep) until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is a Handler that keeps every event and gap.
type recorder struct {
	mu     sync.Mutex
	events []chatsvc.EventMessage
	gaps   []time.Time
	fail   func(ev *chatsvc.EventMessage) error
}

func (r *recorder) HandleEvent(_ context.Context, ev *chatsvc.EventMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(ev); err != nil {
			return err
		}
	}
	r.events = append(r.events, *ev)
	return nil
}

func (r *recorder) HandleGap(_ context.Context, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps = append(r.gaps, since)
}

func (r *recorder) gapCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.gaps)
}

// messages returns the NewMessage events whose content (edit marker
// stripped) equals text.
func (r *recorder) messages(text string) []*chatsvc.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*chatsvc.Message
	for i := range r.events {
		ev := &r.events[i]
		if ev.ResourceType != chatsvc.ResourceNewMessage {
			continue
		}
		m, err := ev.Message()
		if err == nil && chatsvc.StripEditMarker(m.Content) == text {
			out = append(out, m)
		}
	}
	return out
}

func (r *recorder) ofType(rt string) []chatsvc.EventMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []chatsvc.EventMessage
	for _, ev := range r.events {
		if ev.ResourceType == rt {
			out = append(out, ev)
		}
	}
	return out
}

// listen runs Listen in the background until the test ends.
func listen(t *testing.T, c *skypeapi.Client, h skypeapi.Handler, o skypeapi.ListenOptions) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx, h, o) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return done
}
