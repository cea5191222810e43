package bridgekit

import (
	"context"
	"sync"
	"time"
)

// ReadPositions tracks the other members' read positions of the chats a
// login polls. Teams and Skype push a member's read position only to that
// member, so a bridge that wants the others' read receipts has to ask, and
// asking for every chat on every poll would cost a request per chat per
// poll: only chats the user wrote in lately are watched (Watch), and each
// reader's position is bridged once per advance (Advanced).
type ReadPositions struct {
	mu      sync.Mutex
	running context.Context                 // the loop whose poller runs, if any
	watched map[string]time.Time            // conversation → watched until
	seen    map[string]map[string]time.Time // conversation → reader → read time bridged
}

// ReadWatchWindow is how long after the user's last message a chat's read
// positions are watched: people read an answer within minutes.
const ReadWatchWindow = 15 * time.Minute

// Watch polls conv's read positions for the next ReadWatchWindow.
func (w *ReadPositions) Watch(conv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched == nil {
		w.watched = map[string]time.Time{}
	}
	w.watched[conv] = time.Now().Add(ReadWatchWindow)
}

// Due lists the conversations to poll now, forgetting those whose window
// has passed.
func (w *ReadPositions) Due() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	now := time.Now()
	for conv, until := range w.watched {
		if now.After(until) {
			delete(w.watched, conv)
			continue
		}
		out = append(out, conv)
	}
	return out
}

// Advanced reports whether reader's read time in conv moved past what was
// bridged, and remembers it, so an unchanged position is not bridged again.
func (w *ReadPositions) Advanced(conv, reader string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]map[string]time.Time{}
	}
	m := w.seen[conv]
	if m == nil {
		m = map[string]time.Time{}
		w.seen[conv] = m
	}
	if !t.After(m[reader]) {
		return false
	}
	m[reader] = t
	return true
}

// Poll calls sync for each due conversation every interval until ctx ends.
// While a poller of a live ctx runs, another Poll returns at once: a
// session that restarts quickly keeps one poller, not two.
func (w *ReadPositions) Poll(ctx context.Context, every time.Duration, sync func(ctx context.Context, conv string)) {
	if !w.start(ctx) {
		return
	}
	defer w.stopped(ctx)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, conv := range w.Due() {
			sync(ctx, conv)
		}
	}
}

// start reports whether a poller for ctx may run: none runs, or the one
// running belongs to a loop that has ended (a quick reconnect).
func (w *ReadPositions) start(ctx context.Context) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running != nil && w.running.Err() == nil {
		return false
	}
	w.running = ctx
	return true
}

// stopped is a poller's exit; one that exits late, after a new loop's
// poller started, must not let a third one start beside that.
func (w *ReadPositions) stopped(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running == ctx {
		w.running = nil
	}
}
