package bridgekit

import "sync"

// SendQueue runs a connector's Matrix sends in the background, one
// conversation's at a time and in the order they were queued. A send the
// remote service holds up (a 429 with Retry-After, an upload, a slow host)
// then no longer holds the portal: HandleMatrixMessage only queues the send
// and returns it pending (bridgev2's pending messages), and the portal goes
// on handling the messages coming in meanwhile. The zero value is ready.
type SendQueue struct {
	mu     sync.Mutex
	queues map[string][]func()
}

// Run queues send behind the earlier sends of key (a conversation). A key
// with queued sends has exactly one goroutine running them.
func (q *SendQueue) Run(key string, send func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queues == nil {
		q.queues = map[string][]func(){}
	}
	pending, running := q.queues[key]
	q.queues[key] = append(pending, send)
	if !running {
		go q.drain(key)
	}
}

// next takes key's next send; when there is none it removes the queue, so
// the next Run starts a new drain.
func (q *SendQueue) next(key string) func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	pending := q.queues[key]
	if len(pending) == 0 {
		delete(q.queues, key)
		return nil
	}
	q.queues[key] = pending[1:]
	return pending[0]
}

func (q *SendQueue) drain(key string) {
	for send := q.next(key); send != nil; send = q.next(key) {
		send()
	}
}

// Idle reports whether key has no send queued or running.
func (q *SendQueue) Idle(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, busy := q.queues[key]
	return !busy
}
