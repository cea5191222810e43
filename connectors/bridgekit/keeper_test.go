package bridgekit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/status"
)

var errRefused = errors.New("refused")

// keeperRecord is what a SessionKeeper did, for the tests to look at.
type keeperRecord struct {
	mu       sync.Mutex
	states   []status.BridgeState
	notices  []string
	refusals []error
	downs    int
}

func (r *keeperRecord) stateSummary() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, st := range r.states {
		out = append(out, fmt.Sprintf("%s/%s", st.StateEvent, st.Error))
	}
	return out
}

// newKeeper is a keeper over session, with waits of 1, 2, 4, 4 … ms.
func newKeeper(rec *keeperRecord, session func(ctx context.Context) error) *SessionKeeper {
	log := zerolog.Nop()
	k := &SessionKeeper{
		Network: "Example", Code: "example", Log: &log,
		SendState: func(st status.BridgeState) { rec.mu.Lock(); rec.states = append(rec.states, st); rec.mu.Unlock() },
		Notice: func(ctx context.Context, text string) {
			rec.mu.Lock()
			rec.notices = append(rec.notices, text)
			rec.mu.Unlock()
		},
		Backoff:    Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond},
		RunSession: session, Refused: func(err error) bool { return errors.Is(err, errRefused) },
		Down: func() { rec.mu.Lock(); rec.downs++; rec.mu.Unlock() },
	}
	k.OnRefused = func(ctx context.Context, err error) {
		rec.mu.Lock()
		rec.refusals = append(rec.refusals, err)
		rec.mu.Unlock()
		k.Refuse(ctx, err, "the password was changed", "Sign in again.")
	}
	return k
}

// Failed sessions are retried after a growing wait, each failure reported
// as a transient disconnect; refused credentials end the loop in
// BAD_CREDENTIALS with one notice, and nothing runs a session again.
func TestKeeperRetriesThenStopsOnRefusal(t *testing.T) {
	rec := &keeperRecord{}
	var waits []time.Duration // the wait each session will be followed by
	var k *SessionKeeper
	k = newKeeper(rec, func(ctx context.Context) error {
		waits = append(waits, k.Backoff.Current())
		switch len(waits) {
		case 2:
			return nil // ended without an error: retried all the same
		case 4:
			return fmt.Errorf("token endpoint: %w", errRefused)
		}
		return errors.New("connection reset")
	})
	k.StableAfter = time.Hour // no session here counts as having worked
	k.Run(context.Background())
	if want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}; !slices.Equal(waits, want) {
		t.Fatalf("waits after the sessions %v, want %v", waits, want)
	}
	want := []string{
		"CONNECTING/", "TRANSIENT_DISCONNECT/example-disconnected",
		"CONNECTING/", "TRANSIENT_DISCONNECT/example-disconnected",
		"CONNECTING/", "TRANSIENT_DISCONNECT/example-disconnected",
		"CONNECTING/", "BAD_CREDENTIALS/example-relogin",
	}
	if got := rec.stateSummary(); !slices.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if second := rec.states[3]; second.Message != "the session ended" {
		t.Fatalf("the session that ended without an error was reported as %q", second.Message)
	}
	if last := rec.states[len(rec.states)-1]; last.Message != "Example needs you to sign in again: the password was changed" {
		t.Fatalf("BAD_CREDENTIALS message %q", last.Message)
	}
	if len(rec.refusals) != 1 || !errors.Is(rec.refusals[0], errRefused) || rec.downs != 4 {
		t.Fatalf("refusals %v, downs %d; want the one refusal and the login down after each failure", rec.refusals, rec.downs)
	}
	// Refused again (a send that met the same dead token): the state again,
	// the notice not.
	k.Refuse(context.Background(), errRefused, "the password was changed", "Sign in again.")
	if len(rec.notices) != 1 || rec.notices[0] != "Sign in again." {
		t.Fatalf("notices %q, want one", rec.notices)
	}
}

// A session that stayed up StableAfter failed anew: the wait after it
// starts from Min again, however long the waits before it had grown.
func TestKeeperResetsTheBackoffAfterAStableSession(t *testing.T) {
	rec := &keeperRecord{}
	var waits []time.Duration
	var k *SessionKeeper
	k = newKeeper(rec, func(ctx context.Context) error {
		waits = append(waits, k.Backoff.Current())
		switch len(waits) {
		case 3:
			// This one works for a while (longer than StableAfter).
			time.Sleep(5 * time.Millisecond)
		case 5:
			return errRefused
		}
		return errors.New("connection reset")
	})
	k.StableAfter = 2 * time.Millisecond
	k.Run(context.Background())
	// Each session sees the wait it will be followed by. After the stable
	// third the wait was Min again (1 ms), so the fourth sees it doubled
	// once; without the reset it would see Max (4 ms).
	if want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}; !slices.Equal(waits, want) {
		t.Fatalf("waits after the sessions %v, want %v", waits, want)
	}
}

// Credentials that could not be loaded go straight to BAD_CREDENTIALS;
// a retired client starts nothing; Stop ends a loop waiting to retry.
func TestKeeperConnect(t *testing.T) {
	rec := &keeperRecord{}
	k := newKeeper(rec, func(ctx context.Context) error { t.Error("a session ran"); return nil })
	loadErr := errors.New("the box cannot open it")
	k.Connect(context.Background(), zerolog.Nop(), func() bool { return false }, loadErr, k.Run)
	if k.Running() || len(rec.refusals) != 1 || rec.refusals[0] != loadErr || len(rec.notices) != 1 {
		t.Fatalf("running %v, refusals %v, notices %q; want no session, one refusal and one notice", k.Running(), rec.refusals, rec.notices)
	}
	k.Connect(context.Background(), zerolog.Nop(), func() bool { return true }, nil, k.Run)
	if k.Running() {
		t.Fatal("a retired client started a session")
	}

	rec = &keeperRecord{}
	started := make(chan struct{}, 1)
	k = newKeeper(rec, func(ctx context.Context) error {
		select {
		case started <- struct{}{}:
		default:
		}
		return errors.New("connection reset")
	})
	k.Backoff = Backoff{Min: time.Hour, Max: time.Hour}
	k.Connect(context.Background(), zerolog.Nop(), func() bool { return false }, nil, k.Run)
	<-started
	k.Stop() // waits for the goroutine, which is in its hour-long wait
	select {
	case <-started:
		t.Fatal("a second session ran")
	default:
	}
}

func TestReconnectBackoff(t *testing.T) {
	if b := ReconnectBackoff(0); b.Min != time.Second || b.Max != 5*time.Minute {
		t.Fatalf("default backoff %v to %v", b.Min, b.Max)
	}
	if b := ReconnectBackoff(5 * time.Millisecond); b.Min != 5*time.Millisecond || b.Max != 5*time.Minute {
		t.Fatalf("test backoff %v to %v", b.Min, b.Max)
	}
}
