package teams

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// dmWithBob opens alice's chat with bob and waits until it is bridged.
func (e *env) dmWithBob() (string, id.RoomID) {
	e.t.Helper()
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")
	return dm, room
}

// statusOf is the Matrix event's delivery status so far, if any.
func (e *env) statusOf(evt id.EventID) (bridgetest.MessageStatus, bool) {
	var last bridgetest.MessageStatus
	found := false
	for _, s := range e.h.Matrix.Statuses() {
		if s.EventID == evt {
			last, found = s, true
		}
	}
	return last, found
}

// bridgedBack counts the room's messages containing text that alice did
// not send herself: an echo bridged as a second message.
func (e *env) bridgedBack(room id.RoomID, text string) int {
	n := 0
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender != alice && m.Message() != nil && strings.Contains(m.Message().Body, text) {
			n++
		}
	}
	return n
}

// sentTexts are the contents of alice's messages in Teams that are not
// deleted, in order.
func (e *env) sentTexts() []string {
	var out []string
	for _, m := range e.emu.MessagesFrom(e.me.MRI) {
		if !m.Deleted {
			out = append(out, m.Content)
		}
	}
	return out
}

// rowOf is the Matrix event bridgev2's row for a Teams message points at.
func (e *env) rowOf(msgID string) id.EventID {
	m, err := e.h.Bridge.DB.Message.GetFirstPartByID(context.Background(), e.loginID(e.me), ids.MessageID(ids.Teams, msgID))
	if err != nil || m == nil {
		return ""
	}
	return m.MXID
}

// A send Teams holds up with 429s does not hold the portal: bob's message
// is bridged meanwhile, and the send then goes through once, with the same
// clientmessageid.
func TestThrottledSendDoesNotHoldIncoming(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm, room := e.dmWithBob()
	throttled := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "1", Times: 3})
	evt := e.h.SendText(room, alice, "held back")
	e.emu.SendText(e.bob.MRI, dm, "meanwhile")
	e.waitTexts(room, e.ghost(e.bob), "hi", "meanwhile")
	if hits := e.emu.FaultHits(throttled); hits >= 3 {
		t.Fatalf("bob's message came only after the throttled send was through (%d 429s answered)", hits)
	}
	if st, ok := e.statusOf(evt); ok {
		t.Fatalf("the send was settled before Teams took it: %+v", st)
	}
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	sent := e.sentBy(e.me, 1)
	if len(sent) != 1 || !strings.Contains(sent[0].Content, "held back") {
		t.Fatalf("Teams got %+v", sent)
	}
	if e.emu.FaultHits(throttled) != 3 {
		t.Fatalf("%d 429s answered, want 3", e.emu.FaultHits(throttled))
	}
	e.h.WaitFor("the row of the sent message", func() bool { return e.rowOf(sent[0].ID) == evt })
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(room, e.ghost(e.bob), "hi", "meanwhile", "after")
	if n := e.bridgedBack(room, "held back"); n != 0 {
		t.Fatalf("the echo was bridged back %d times", n)
	}
}

// Three quick sends reach Teams in the order they were written, the first
// one throttled.
func TestQuickSendsKeepTheirOrder(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	_, room := e.dmWithBob()
	e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "1", Times: 1})
	var evts []id.EventID
	for _, text := range []string{"one", "two", "three"} {
		evts = append(evts, e.h.SendText(room, alice, text))
	}
	for _, evt := range evts {
		if st := e.status(evt); !isSuccess(st) {
			t.Fatalf("status %+v", st)
		}
	}
	got := e.sentTexts()
	if len(got) != 3 || !strings.Contains(got[0], "one") || !strings.Contains(got[1], "two") || !strings.Contains(got[2], "three") {
		t.Fatalf("Teams got %q", got)
	}
}

// A send Teams refuses for good is shown as failed with the reason.
func TestRefusedSendFailsWithReason(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm, room := e.dmWithBob()
	e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 403, Times: 1})
	evt := e.h.SendText(room, alice, "not allowed here")
	st := e.status(evt)
	if st.Status != event.MessageStatusFail || !strings.Contains(st.Message, "not allowed") {
		t.Fatalf("status %+v", st)
	}
	if got := e.sentTexts(); len(got) != 0 {
		t.Fatalf("Teams got %q", got)
	}
	// The chat goes on: the next message is sent.
	if st := e.status(e.h.SendText(room, alice, "second try")); !isSuccess(st) {
		t.Fatalf("status of the next send %+v", st)
	}
	_ = dm
}

// A send Teams keeps throttling past the send deadline is shown as failed
// (with no retry past it); when Teams shows the message after all, the
// bridge deletes it there and tells the room, and Matrix gets no second
// copy.
func TestTimedOutSendArrivingLateIsWithdrawn(t *testing.T) {
	e := newEnv(t)
	e.conn.SendDeadline = 1500 * time.Millisecond
	e.login(e.me)
	dm, room := e.dmWithBob()
	throttled := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "1", Times: 100})
	evt := e.h.SendText(room, alice, "too late")
	st := e.status(evt)
	if st.Status != event.MessageStatusFail || !strings.Contains(st.Message, "in time") {
		t.Fatalf("status %+v", st)
	}
	hits := e.emu.FaultHits(throttled)
	e.emu.ClearFaults()
	cmid := e.noteFor(evt)
	if cmid == "" {
		t.Fatal("no note of the failed send")
	}
	// Teams took the request after all (its answer was lost).
	late := e.emu.SendWith(e.me.MRI, dm, "<p>too late</p>", teamsemu.SendOptions{ClientMessageID: cmid})
	e.h.WaitFor("the late message to be deleted from Teams", func() bool {
		for _, m := range e.emu.MessagesFrom(e.me.MRI) {
			if m.ID == late {
				return m.Deleted
			}
		}
		return false
	})
	e.h.WaitFor("the room to be told", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if m.Message() != nil && m.Message().MsgType == event.MsgNotice && strings.Contains(m.Message().Body, "reached Teams late") {
				return true
			}
		}
		return false
	})
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(room, e.ghost(e.bob), "hi", "after")
	if n := e.bridgedBack(room, "too late"); n != 0 {
		t.Fatalf("the late message was bridged %d times", n)
	}
	if e.rowOf(late) != "" {
		t.Fatal("the late message got a row")
	}
	if st, _ := e.statusOf(evt); st.Status != event.MessageStatusFail {
		t.Fatalf("the status changed to %+v", st)
	}
	if e.emu.FaultHits(throttled) != hits {
		t.Fatal("the send was retried after it was reported failed")
	}
}

// noteFor is the clientmessageid of the noted send of a Matrix event.
func (e *env) noteFor(evt id.EventID) string {
	c := e.client(e.me)
	c.sends.mu.Lock()
	defer c.sends.mu.Unlock()
	for cmid, n := range c.sends.notes {
		if n.EventID == evt {
			return cmid
		}
	}
	return ""
}

// heldSend logs alice in and sends text to bob while Teams throttles every
// attempt; it returns once Teams has refused one.
func (e *env) heldSend(text string) (string, id.RoomID, id.EventID, string) {
	e.t.Helper()
	e.login(e.me)
	dm, room := e.dmWithBob()
	throttled := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "1", Times: 100})
	evt := e.h.SendText(room, alice, text)
	e.h.WaitFor("Teams to throttle the send", func() bool { return e.emu.FaultHits(throttled) > 0 })
	cmid := e.noteFor(evt)
	if cmid == "" {
		e.t.Fatal("no note of the pending send")
	}
	return dm, room, evt, cmid
}

// A bridge stopped (as if killed) while Teams throttles a send: the
// restarted bridge, finding the message not in Teams, shows it failed; it
// never stays "sending", and it is not sent on its own.
func TestSendPendingAtRestartNotInTeamsFails(t *testing.T) {
	e := newEnv(t)
	_, _, evt, _ := e.heldSend("cut off")
	e.restart()
	e.emu.ClearFaults()
	e.connected(e.me)
	st := e.status(evt)
	if st.Status != event.MessageStatusFail || !strings.Contains(st.Message, "restarted") {
		t.Fatalf("status %+v", st)
	}
	if got := e.sentTexts(); len(got) != 0 {
		t.Fatalf("Teams got %q", got)
	}
}

// A bridge stopped after Teams took a send but before the bridge heard of
// it: the restarted bridge finds the message in Teams and completes the
// Matrix event with it, once.
func TestSendPendingAtRestartInTeamsIsDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	dm, room, evt, cmid := e.heldSend("made it")
	e.h.Stop()
	e.emu.ClearFaults()
	// The request that was under way when the bridge died reached Teams.
	msgID := e.emu.SendWith(e.me.MRI, dm, "<p>made it</p>", teamsemu.SendOptions{ClientMessageID: cmid})
	e.start(e.h.DBPath)
	e.connected(e.me)
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	e.h.WaitFor("the row of the message", func() bool { return e.rowOf(msgID) == evt })
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(room, e.ghost(e.bob), "hi", "after")
	if n := e.bridgedBack(room, "made it"); n != 0 {
		t.Fatalf("the message was bridged back %d times", n)
	}
	if got := e.sentTexts(); len(got) != 1 {
		t.Fatalf("Teams has %q", got)
	}
}

// The echo can come before the send's answer (here: Teams has the message
// while the bridge's request is still being throttled, and the retry with
// the same clientmessageid is then answered with it): the echo completes the
// pending message, and the answer after it is a repeat.
func TestEchoBeforeAnswerMakesOneMessage(t *testing.T) {
	e := newEnv(t)
	dm, room, evt, cmid := e.heldSend("echo first")
	msgID := e.emu.SendWith(e.me.MRI, dm, "<p>echo first</p>", teamsemu.SendOptions{ClientMessageID: cmid})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	e.h.WaitFor("the row of the echoed message", func() bool { return e.rowOf(msgID) == evt })
	e.emu.ClearFaults()
	e.h.WaitFor("the throttled send to be answered", func() bool { return e.noteFor(evt) == "" && e.client(e.me).sends.queue.Idle(dm) })
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(room, e.ghost(e.bob), "hi", "after")
	if n := e.bridgedBack(room, "echo first"); n != 0 {
		t.Fatalf("the message was bridged back %d times", n)
	}
	if got := e.sentTexts(); len(got) != 1 {
		t.Fatalf("Teams has %q", got)
	}
	n := 0
	for _, s := range e.h.Matrix.Statuses() {
		if s.EventID == evt {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d statuses for one message", n)
	}
}
