package teamsapi

import (
	"sync"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Deduper remembers recently handled message versions so a push that is
// redelivered, or a message that both the push and a REST catch-up carry,
// is handled once. It is bounded (oldest forgotten first).
type Deduper struct {
	mu    sync.Mutex
	seen  map[string]struct{}
	order []string
	max   int
}

// NewDeduper remembers up to size keys (default 8192).
func NewDeduper(size int) *Deduper {
	if size <= 0 {
		size = 8192
	}
	return &Deduper{seen: map[string]struct{}{}, max: size}
}

// Key identifies one state of a message: conversation, id and version.
func Key(m *chatsvc.Message) string {
	conv, _ := m.Conversation()
	v := m.Version
	if v == "" {
		v = m.ID
	}
	return conv + "/" + string(m.ID) + "/" + string(v)
}

// First reports whether key is new, remembering it.
func (d *Deduper) First(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[key]; ok {
		return false
	}
	d.seen[key] = struct{}{}
	d.order = append(d.order, key)
	if len(d.order) > d.max {
		delete(d.seen, d.order[0])
		d.order = d.order[1:]
	}
	return true
}

// FirstMessage is First(Key(m)).
func (d *Deduper) FirstMessage(m *chatsvc.Message) bool { return d.First(Key(m)) }
