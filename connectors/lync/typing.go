package lync

import (
	"context"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2/networkid"
)

// UCWA shows a participant as typing for a few seconds after each
// setIsTyping, so the bridge repeats it while the Matrix user types.
const (
	typingRepeat = 4 * time.Second
	typingMax    = 30 * time.Second
)

type typingSender struct {
	mu     sync.Mutex
	active map[networkid.PortalID]context.CancelFunc
}

// set starts or stops repeating send for a portal.
func (t *typingSender) set(portal networkid.PortalID, typing bool, send func(context.Context) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active == nil {
		t.active = map[networkid.PortalID]context.CancelFunc{}
	}
	if cancel := t.active[portal]; cancel != nil {
		cancel()
		delete(t.active, portal)
	}
	if !typing {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), typingMax)
	t.active[portal] = cancel
	go func() {
		tick := time.NewTicker(typingRepeat)
		defer tick.Stop()
		for {
			if err := send(ctx); err != nil || ctx.Err() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// stopAll ends every repetition (on disconnect).
func (t *typingSender) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, cancel := range t.active {
		cancel()
		delete(t.active, p)
	}
}
