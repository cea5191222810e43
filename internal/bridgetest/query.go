package bridgetest

import (
	"context"
	"fmt"
	"maps"
	"time"

	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// DefaultWait bounds every Wait* helper; a condition not met by then fails the
// test with a description of what was awaited.
const DefaultWait = 10 * time.Second

// Events returns the recorded events of a room ("" for all rooms), in order.
func (m *Matrix) Events(roomID id.RoomID) []*Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Event
	for _, e := range m.events {
		if roomID == "" || e.RoomID == roomID {
			out = append(out, e)
		}
	}
	return out
}

// Messages returns the room's timeline events that carry message content.
func (m *Matrix) Messages(roomID id.RoomID) []*Event {
	var out []*Event
	for _, e := range m.Events(roomID) {
		if e.StateKey == nil && e.Type == event.EventMessage {
			out = append(out, e)
		}
	}
	return out
}

// Room returns a snapshot of a room, or nil.
func (m *Matrix) Room(roomID id.RoomID) *Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	if r == nil {
		return nil
	}
	cp := *r
	cp.Members = maps.Clone(r.Members)
	cp.State = maps.Clone(r.State)
	return &cp
}

// Rooms returns snapshots of every room the bridge created, in creation order.
func (m *Matrix) Rooms() []*Room {
	m.mu.Lock()
	ids := make([]id.RoomID, 0, len(m.rooms))
	for rid, r := range m.rooms {
		if r.Request != nil {
			ids = append(ids, rid)
		}
	}
	m.mu.Unlock()
	out := make([]*Room, 0, len(ids))
	for _, rid := range ids {
		out = append(out, m.Room(rid))
	}
	return out
}

// Typing returns the typing notifications sent so far.
func (m *Matrix) Typing() []Typing {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Typing(nil), m.typing...)
}

// Receipts returns the read receipts sent so far.
func (m *Matrix) Receipts() []Receipt {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Receipt(nil), m.receipts...)
}

// Statuses returns the message statuses reported so far.
func (m *Matrix) Statuses() []MessageStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MessageStatus(nil), m.statuses...)
}

// BridgeStates returns the login bridge states reported so far.
func (m *Matrix) BridgeStates() []status.BridgeState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]status.BridgeState(nil), m.states...)
}

// Profile returns a user's profile as the bridge set it, or nil.
func (m *Matrix) Profile(userID id.UserID) *Profile {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.profiles[userID]; p != nil {
		cp := *p
		return &cp
	}
	return nil
}

// Media returns stored media bytes.
func (m *Matrix) Media(uri id.ContentURIString) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.media[uri]
	return data, ok
}

// Wait blocks until cond returns true (checked after every recorded change,
// and every few milliseconds for conditions on other state, such as a remote
// emulator's) or the timeout passes, and returns an error naming what was
// awaited.
func (m *Matrix) Wait(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	recheck := time.NewTicker(20 * time.Millisecond)
	defer recheck.Stop()
	for {
		m.mu.Lock()
		ch := m.changed
		m.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-recheck.C:
		case <-deadline.C:
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}
