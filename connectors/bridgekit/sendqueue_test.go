package bridgekit

import (
	"sync"
	"testing"
	"time"
)

// One key's sends run one at a time in the order queued, while a send held
// up on one key does not hold another key's.
func TestSendQueueOrdersPerKeyOnly(t *testing.T) {
	var q SendQueue
	var mu sync.Mutex
	var order []int
	release := make(chan struct{})
	otherDone := make(chan struct{})
	q.Run("a", func() { <-release })
	for i := 1; i <= 5; i++ {
		q.Run("a", func() {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
	}
	q.Run("b", func() { close(otherDone) })
	select {
	case <-otherDone:
	case <-time.After(10 * time.Second):
		t.Fatal("key b waited behind key a's held send")
	}
	mu.Lock()
	if len(order) != 0 {
		t.Fatalf("key a's later sends overtook the held one: %v", order)
	}
	mu.Unlock()
	close(release)
	done := make(chan struct{})
	q.Run("a", func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("key a's queue did not drain")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range order {
		if v != i+1 {
			t.Fatalf("order %v", order)
		}
	}
	if len(order) != 5 {
		t.Fatalf("ran %d of 5", len(order))
	}
}
