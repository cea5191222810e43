package bridgekit

import (
	"context"
	"sort"
	"testing"
	"time"
)

func TestReadPositionsBridgeEachAdvanceOnce(t *testing.T) {
	var w ReadPositions
	t0 := time.Unix(1000, 0)
	if !w.Advanced("c", "bob", t0) {
		t.Fatal("a first read position was not an advance")
	}
	if w.Advanced("c", "bob", t0) || w.Advanced("c", "bob", t0.Add(-time.Second)) {
		t.Fatal("an unchanged or older read position counted as an advance")
	}
	if !w.Advanced("c", "bob", t0.Add(time.Second)) || !w.Advanced("d", "bob", t0) || !w.Advanced("c", "ann", t0) {
		t.Fatal("a later position, or one in another chat or by another reader, was not an advance")
	}
}

func TestReadPositionsDueOnlyWatched(t *testing.T) {
	var w ReadPositions
	if len(w.Due()) != 0 {
		t.Fatal("nothing watched, yet something is due")
	}
	w.Watch("b")
	w.Watch("a")
	got := w.Due()
	sort.Strings(got)
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("due = %v", got)
	}
	w.mu.Lock()
	w.watched["a"] = time.Now().Add(-time.Second) // its window has passed
	w.mu.Unlock()
	if got := w.Due(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("due after a's window = %v", got)
	}
}

// One poller per session loop: a second start in the same loop (a session
// restart) adds none, a new loop after the old one ended gets its own at
// once, and the old poller's late exit does not open the door to another.
func TestReadPositionsOnePollerPerLiveLoop(t *testing.T) {
	var w ReadPositions
	first, end := context.WithCancel(context.Background())
	if !w.start(first) || w.start(first) {
		t.Fatal("the first loop must start exactly one poller")
	}
	end()
	second, stop := context.WithCancel(context.Background())
	defer stop()
	if !w.start(second) {
		t.Fatal("a new loop after the old one ended got no poller")
	}
	w.stopped(first) // the old poller exits late
	if w.start(second) {
		t.Fatal("the old poller's exit let a second poller start in the new loop")
	}
}

// Poll syncs each watched conversation and returns when its loop ends.
func TestReadPositionsPollSyncsWatched(t *testing.T) {
	var w ReadPositions
	w.Watch("c")
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		w.Poll(ctx, time.Millisecond, func(_ context.Context, conv string) {
			select {
			case got <- conv:
			default:
			}
		})
		close(done)
	}()
	if conv := <-got; conv != "c" {
		t.Fatalf("polled %q", conv)
	}
	cancel()
	<-done
	if !w.start(context.Background()) {
		t.Fatal("the ended poller still counts as running")
	}
}
