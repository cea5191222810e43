package skype

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// restartable is the env of the restart tests: a Retry-After holds a send
// for real, and as in the shipped config a Matrix event that comes while
// the login connects waits for it (send_reconnect_wait).
func restartable(e *env, _ *skypeemu.Options) {
	e.sendReconnectWait = 30 * time.Second
	e.realWaits = true
}

// finalStatuses waits until every event has a final status (success or
// fail) and returns the last one of each.
func (e *env) finalStatuses(evts []id.EventID) map[id.EventID]bridgetest.MessageStatus {
	e.t.Helper()
	last := map[id.EventID]bridgetest.MessageStatus{}
	e.h.WaitFor(fmt.Sprintf("a final status for each of %d messages", len(evts)), func() bool {
		clear(last)
		for _, s := range e.h.Matrix.Statuses() {
			last[s.EventID] = s
		}
		for _, evt := range evts {
			st, ok := last[evt]
			if !ok || (st.Status != event.MessageStatusSuccess && st.Status != event.MessageStatusFail) {
				return false
			}
		}
		return true
	})
	return last
}

// heldSends writes n messages, the first of which Skype holds up (429 with
// a long Retry-After), so the rest wait behind it in the outbox.
func (e *env) heldSends(room id.RoomID, prefix string, n int) ([]id.EventID, []string) {
	e.t.Helper()
	posts := countPosts(e)
	e.emu.FailNextWithRetryAfter("POST", "/messages", 429, 429, 1, "30")
	var evts []id.EventID
	var texts []string
	for i := 0; i < n; i++ {
		texts = append(texts, fmt.Sprintf("%s %d", prefix, i))
		evts = append(evts, e.h.SendText(room, carolMX, texts[i]))
	}
	e.h.WaitFor("the first send to be held by Skype", func() bool { return countPosts(e) > posts })
	return evts, texts
}

func countPosts(e *env) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/messages") {
			n++
		}
	}
	return n
}

// redeliver hands bridgev2 a Matrix event again with its ID, as Synapse
// does with an appservice transaction the bridge never acknowledged.
func (e *env) redeliver(room id.RoomID, evt id.EventID, body string) {
	e.h.Bridge.QueueMatrixEvent(e.h.Ctx, &event.Event{
		Type: event.EventMessage, RoomID: room, Sender: carolMX, ID: evt, Timestamp: time.Now().UnixMilli(),
		Content: event.Content{Parsed: &event.MessageEventContent{MsgType: event.MsgText, Body: body}},
	})
}

// carolTexts are the texts of carol's messages on Skype, in order.
func (e *env) carolTexts() []string {
	var out []string
	for _, m := range e.emu.SentBy(carol) {
		if m.EditedID == "" {
			out = append(out, m.Content)
		}
	}
	return out
}

// bridgedBack fails the test if one of carol's own messages came back
// into Matrix as a new event.
func (e *env) bridgedBack(room id.RoomID, evts []id.EventID, texts []string) {
	e.t.Helper()
	mine := map[id.EventID]bool{}
	for _, evt := range evts {
		mine[evt] = true
	}
	for _, m := range e.h.Matrix.Messages(room) {
		if mc := m.Message(); mc != nil && !mine[m.ID] {
			for _, t := range texts {
				if mc.Body == t {
					e.t.Fatalf("%q was bridged back into Matrix by %s", t, m.Sender)
				}
			}
		}
	}
}

// Messages queued behind a held send when the bridge stops: after the
// restart each is on Skype exactly once, in order, and reports success;
// Synapse redelivering the same Matrix events (before and after they are
// settled) sends nothing twice.
func TestQueuedSendsAtRestartAreDeliveredOnce(t *testing.T) {
	e := newEnv(t, restartable)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	done := e.h.SendText(room, carolMX, "delivered before")
	if st := e.status(done); st.Status != event.MessageStatusSuccess {
		t.Fatalf("status %+v", st)
	}
	evts, texts := e.heldSends(room, "queued", 5)
	e.restart()
	// Synapse redelivers the transaction while the login connects.
	e.redeliver(room, done, "delivered before")
	e.redeliver(room, evts[2], texts[2])
	e.connected()
	last := e.finalStatuses(append([]id.EventID{done}, evts...))
	for evt, st := range last {
		if st.Status != event.MessageStatusSuccess {
			t.Errorf("%s: final status %+v", evt, st)
		}
	}
	want := append([]string{"delivered before"}, texts...)
	e.h.WaitFor("carol's messages on Skype", func() bool { return len(e.carolTexts()) >= len(want) })
	// And once more after they are settled.
	for i, evt := range evts {
		e.redeliver(room, evt, texts[i])
	}
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "hi", "marker")
	if got := e.carolTexts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Skype has %q, want each once in order: %q", got, want)
	}
	e.bridgedBack(room, evts, texts)
	for i, evt := range evts {
		part, err := e.h.Bridge.DB.Message.GetPartByMXID(e.h.Ctx, evt)
		if err != nil || part == nil {
			t.Fatalf("no row for %q: %v", texts[i], err)
		}
	}
}

// ageNotes moves the written time of every send note back by d, as if the
// bridge had been down that long.
func (e *env) ageNotes(d time.Duration) int {
	e.t.Helper()
	ctx := context.Background()
	rows, err := e.conn.Env.DB.Query(ctx, `SELECT stream, cursor FROM imbridge_event_cursor WHERE stream LIKE 'skype.sent:%'`)
	if err != nil {
		e.t.Fatal(err)
	}
	notes := map[string]*sendNote{}
	for rows.Next() {
		var stream, value string
		if err = rows.Scan(&stream, &value); err != nil {
			e.t.Fatal(err)
		}
		n, err := parseNote(value)
		if err != nil {
			e.t.Fatal(err)
		}
		notes[stream] = n
	}
	_ = rows.Close()
	for stream, n := range notes {
		n.Written -= d.Nanoseconds()
		raw, _ := json.Marshal(n)
		if err = e.conn.Env.DB.Cursor.Put(ctx, carolLID, stream, string(raw)); err != nil {
			e.t.Fatal(err)
		}
	}
	return len(notes)
}

// A bridge down for longer than the message timeout: the sends it had
// queued are reported failed with the reason and never sent, also when
// Synapse delivers their Matrix events again; one Skype had accepted
// before the stop is reported delivered, not sent twice.
func TestQueuedSendsPastTheTimeoutFailAfterRestart(t *testing.T) {
	e := newEnv(t, restartable)
	c := e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	// Accepted by Skype, but its echo is never read: the event loop is
	// stopped and the client kept usable.
	c.Disconnect()
	c.loggedIn.Store(true)
	accepted := e.h.SendText(room, carolMX, "accepted before the stop")
	e.h.WaitFor("Skype to accept the first message", func() bool { return len(e.carolTexts()) == 1 })
	evts, texts := e.heldSends(room, "stale", 3)
	if n := e.ageNotes(time.Hour); n != 4 {
		t.Fatalf("%d send notes, want 4", n)
	}
	e.restart()
	e.connected()
	all := append([]id.EventID{accepted}, evts...)
	last := e.finalStatuses(all)
	if st := last[accepted]; st.Status != event.MessageStatusSuccess {
		t.Errorf("the accepted message: final status %+v", st)
	}
	for i, evt := range evts {
		st := last[evt]
		if st.Status != event.MessageStatusFail || st.Message != errRestarted.Error() {
			t.Errorf("%q: final status %+v, want failed: %q", texts[i], st, errRestarted)
		}
		e.redeliver(room, evt, texts[i])
	}
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "hi", "marker")
	e.finalStatuses(all)
	if got := e.carolTexts(); len(got) != 1 || got[0] != "accepted before the stop" {
		t.Fatalf("Skype has %q, want only the accepted message", got)
	}
	for _, s := range e.h.Matrix.Statuses() {
		for _, evt := range evts {
			if s.EventID == evt && s.Status == event.MessageStatusSuccess {
				t.Fatalf("a failed message was later reported delivered: %+v", s)
			}
		}
	}
	e.bridgedBack(room, all, append([]string{"accepted before the stop"}, texts...))
}

// Notes that do not hold the Matrix event (an older note, or one whose
// event cannot be read back) are settled from Skype's history: the one
// Skype has is reported delivered and linked, not bridged back; the other
// is reported failed.
func TestSendNotesWithoutTheEventAreSettledFromHistory(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	ctx := context.Background()
	lost := map[string]id.EventID{"1000000000000000001": "$lost:test", "1000000000000000002": "$taken:test"}
	for cmid, evt := range lost {
		raw, _ := json.Marshal(&sendNote{Event: evt, Room: room, Sender: carolMX, Conv: "8:" + bob, Written: time.Now().UnixNano()})
		if err := e.conn.Env.DB.Cursor.Put(ctx, carolLID, sentStream(cmid), string(raw)); err != nil {
			t.Fatal(err)
		}
	}
	db := e.h.DBPath
	e.h.Stop()
	// Skype took one of them (the earlier run's request landed).
	other := e.skypeUser(carol, carolPass)
	if _, err := other.Send(ctx, "8:"+bob, skypeapi.Outgoing{ClientMessageID: "1000000000000000002", Content: "taken by Skype"}); err != nil {
		t.Fatal(err)
	}
	e.start(db)
	e.connected()
	last := e.finalStatuses([]id.EventID{"$lost:test", "$taken:test"})
	if st := last["$lost:test"]; st.Status != event.MessageStatusFail || st.Message != errRestarted.Error() {
		t.Errorf("the message Skype does not have: %+v", st)
	}
	if st := last["$taken:test"]; st.Status != event.MessageStatusSuccess {
		t.Errorf("the message Skype has: %+v", st)
	}
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "hi", "marker")
	e.bridgedBack(room, []id.EventID{"$taken:test"}, []string{"taken by Skype"})
	part, err := e.h.Bridge.DB.Message.GetPartByMXID(e.h.Ctx, "$taken:test")
	if err != nil || part == nil {
		t.Fatalf("no row for the message Skype has: %v", err)
	}
}

// A send Skype took although the bridge stopped before it heard back, and
// which the restart's catch-up does not reach (its window starts later):
// the outbox finds it in the history before sending it again, and its
// history entry completes the pending message. Skype has it once.
func TestUnfinishedSendSkypeHasIsNotSentAgain(t *testing.T) {
	e := newEnv(t, restartable)
	c := e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	// Skype takes the send; its echo is never read, and the stop comes
	// before the note is settled.
	c.Disconnect()
	c.loggedIn.Store(true)
	evt := e.h.SendText(room, carolMX, "taken before the stop")
	e.h.WaitFor("Skype to take the message", func() bool { return len(e.carolTexts()) == 1 })
	// The catch-up after the restart starts after it.
	later := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339Nano)
	if err := e.conn.Env.DB.Cursor.Put(context.Background(), carolLID, cursorStream, later); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.connected()
	if st := e.finalStatuses([]id.EventID{evt})[evt]; st.Status != event.MessageStatusSuccess {
		t.Fatalf("final status %+v", st)
	}
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "hi", "marker")
	if got := e.carolTexts(); len(got) != 1 {
		t.Fatalf("Skype has %q, want the message once", got)
	}
	if n := countPosts(e); n != 1 {
		t.Fatalf("%d sends to Skype, want 1: the message was sent again", n)
	}
	e.bridgedBack(room, []id.EventID{evt}, []string{"taken before the stop"})
	if part, err := e.h.Bridge.DB.Message.GetPartByMXID(e.h.Ctx, evt); err != nil || part == nil {
		t.Fatalf("no row for the message: %v", err)
	}
}

// Signing out with sends queued behind a held one: each is reported failed
// with the reason (there is no next start to settle them), none sent.
func TestLogoutFailsTheQueuedSends(t *testing.T) {
	e := newEnv(t, restartable)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	evts, texts := e.heldSends(room, "queued", 3)
	e.h.CommandExpect(carolMX, "logout "+string(carolLID), "Logged out")
	last := e.finalStatuses(evts)
	for i, evt := range evts {
		if st := last[evt]; st.Status != event.MessageStatusFail || !strings.Contains(st.Message, "signed out") {
			t.Errorf("%q: final status %+v", texts[i], st)
		}
	}
	if got := e.carolTexts(); len(got) != 0 {
		t.Fatalf("Skype has %q after the logout", got)
	}
}
