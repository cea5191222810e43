package bridgekit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A second Start while a session runs, or a Start of a retired client,
// starts nothing; Stop waits until the goroutine has returned.
func TestSessionRunsOnceAndStopWaits(t *testing.T) {
	var s Session
	var runs, prepared atomic.Int32
	var ended atomic.Bool
	run := func(ctx context.Context) {
		runs.Add(1)
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // a slow shutdown Stop must wait for
		ended.Store(true)
	}
	prepare := func(ctx context.Context) { prepared.Add(1) }
	if !s.Start(zerolog.Nop(), func() bool { return false }, prepare, run) {
		t.Fatal("the first Start started nothing")
	}
	if s.Start(zerolog.Nop(), func() bool { return false }, prepare, run) {
		t.Fatal("a second Start started another session")
	}
	if !s.Running() {
		t.Fatal("Running is false after Start")
	}
	s.Stop()
	if !ended.Load() {
		t.Fatal("Stop returned before the session goroutine did")
	}
	if runs.Load() != 1 || prepared.Load() != 1 {
		t.Fatalf("%d runs and %d prepares, want 1 each", runs.Load(), prepared.Load())
	}
	if s.Running() || s.Done() != nil {
		t.Fatal("the session still counts as running after Stop")
	}
	if s.Start(zerolog.Nop(), func() bool { return true }, prepare, run) {
		t.Fatal("Start started the session of a retired client")
	}
	s.Stop() // nothing to stop: must not block
}

// A session that ends by itself closes Done but stays "running" until Stop,
// so Connect does not restart it behind a refused login's back.
func TestSessionEndingByItself(t *testing.T) {
	var s Session
	s.Start(zerolog.Nop(), func() bool { return false }, nil, func(ctx context.Context) {})
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done was not closed after the session returned")
	}
	if !s.Running() {
		t.Fatal("a session that ended by itself no longer counts as started")
	}
	if s.Start(zerolog.Nop(), func() bool { return false }, nil, func(ctx context.Context) { t.Error("restarted") }) {
		t.Fatal("Start restarted a session that ended by itself")
	}
	s.Stop()
}

func TestBackoffDoublesUpToMaxAndResets(t *testing.T) {
	b := Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}
	var got []time.Duration
	for range 4 {
		got = append(got, b.Current())
		if !b.Wait(context.Background()) {
			t.Fatal("Wait reported an ended context")
		}
	}
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	b.Reset()
	if b.Current() != time.Millisecond {
		t.Fatalf("after Reset the wait is %v, want %v", b.Current(), time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	long := Backoff{Min: time.Hour, Max: time.Hour}
	if long.Wait(ctx) {
		t.Fatal("Wait on an ended context reported a finished wait")
	}
}
