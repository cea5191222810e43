package bridgetest

import (
	"context"
	"sync"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// SendFault decides what the fake homeserver does with one message event a
// ghost or the bot sends: accept false refuses it with err (a homeserver
// that is down); accept true with an error stores the event but answers
// err, as when the homeserver accepted it and the answer never reached the
// bridge (or the bridge died before it could save it).
type SendFault func(roomID id.RoomID, sender id.UserID, content *event.Content) (accept bool, err error)

// sendFaults holds each Matrix's fault; kept beside the type so the fake
// homeserver's own fields stay untouched.
var sendFaults sync.Map // *Matrix → SendFault

// SetSendFault installs f for every later message send; nil removes it.
func (m *Matrix) SetSendFault(f SendFault) {
	if f == nil {
		sendFaults.Delete(m)
		return
	}
	sendFaults.Store(m, f)
}

func (m *Matrix) sendFault(roomID id.RoomID, sender id.UserID, content *event.Content) (bool, error) {
	f, ok := sendFaults.Load(m)
	if !ok {
		return true, nil
	}
	return f.(SendFault)(roomID, sender, content)
}

// AnswerDelay runs after the fake homeserver stored an event a ghost or the
// bot sent and before its answer reaches the bridge: blocking in it is a
// homeserver slow to answer, whose event clients already see.
type AnswerDelay func(roomID id.RoomID, sender id.UserID, content *event.Content)

var answerDelays sync.Map // *Matrix → AnswerDelay

// SetAnswerDelay installs f for every later message send; nil removes it.
func (m *Matrix) SetAnswerDelay(f AnswerDelay) {
	if f == nil {
		answerDelays.Delete(m)
		return
	}
	answerDelays.Store(m, f)
}

func (m *Matrix) answerDelay(roomID id.RoomID, sender id.UserID, content *event.Content) {
	if f, ok := answerDelays.Load(m); ok {
		f.(AnswerDelay)(roomID, sender, content)
	}
}

// LatestRoomEvents returns up to limit of the room's newest events, newest
// first, the way /messages?dir=b answers; bridges read it to find out
// whether an event they are unsure about is already in the room.
func (m *Matrix) LatestRoomEvents(ctx context.Context, roomID id.RoomID, limit int) ([]*event.Event, error) {
	all := m.Events(roomID)
	out := make([]*event.Event, 0, min(limit, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		e := all[i]
		evt := &event.Event{ID: e.ID, RoomID: e.RoomID, Sender: e.Sender, Type: e.Type, StateKey: e.StateKey, Timestamp: e.Timestamp.UnixMilli()}
		if e.Content != nil {
			evt.Content = *e.Content
			if raw, err := e.Content.MarshalJSON(); err == nil {
				evt.Content = event.Content{VeryRaw: raw}
			}
		}
		out = append(out, evt)
	}
	return out, nil
}
