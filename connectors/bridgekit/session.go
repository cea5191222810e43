package bridgekit

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Session is the one background session goroutine of a login: Connect
// starts it, Disconnect stops it and waits for it to end. There is never
// more than one, so a login's events are never polled twice.
type Session struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run in a new goroutine, under a context that carries log, unless
// the session was started already (and not stopped) or retired reports that
// the client was replaced by a newer one. prepare, when set, is called first
// with the same context and the lock held, for what must be in place before
// Start returns. Start reports whether it started the session.
func (s *Session) Start(log zerolog.Logger, retired func() bool, prepare, run func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil || retired() {
		return false
	}
	ctx, cancel := context.WithCancel(log.WithContext(context.Background()))
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	if prepare != nil {
		prepare(ctx)
	}
	go func() {
		defer close(done)
		run(ctx)
	}()
	return true
}

// Stop cancels the session and waits until its goroutine has returned.
func (s *Session) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Running reports whether the session was started and not stopped (its
// goroutine may have ended by itself, e.g. on refused credentials).
func (s *Session) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancel != nil
}

// Done is closed when the current session's goroutine has returned; it is nil
// when no session was started.
func (s *Session) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Backoff is the wait between session attempts: it starts at Min and
// doubles after each wait, up to Max.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Current is the next wait.
func (b *Backoff) Current() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	}
	return b.cur
}

// Reset starts the waits again from Min (after a session that worked).
func (b *Backoff) Reset() { b.cur = b.Min }

// Wait waits Current, then doubles it; it reports false when ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool {
	t := time.NewTimer(b.Current())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	b.cur = min(b.cur*2, b.Max)
	return true
}
