package teams

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// Teams' echo of a send has passed the Trouter check (the send was still
// on its way) and waits in the portal's queue when the send is reported
// failed: reaching the pending entry, it must not be saved as delivered
// (the user was told it failed) but withdrawn from Teams like any late
// arrival.
func TestEchoQueuedAsSendFailsIsWithdrawn(t *testing.T) {
	e := newEnv(t)
	dm, _, evt, cmid := e.heldSend("failed as it arrived")
	c := e.client(e.me)
	// failSend claims the note first ...
	if !c.sends.markFailed(context.Background(), c, cmid) {
		t.Fatal("the held send had no note")
	}
	// ... while Teams has the message and its echo is already queued in
	// the portal, past the Trouter-side check.
	msgID := e.emu.SendWith(e.me.MRI, dm, "<p>failed as it arrived</p>", teamsemu.SendOptions{ClientMessageID: cmid})
	echo := &simplevent.Message[*chatsvc.Message]{
		EventMeta: simplevent.EventMeta{Type: bridgev2.RemoteEventMessage, PortalKey: c.portalKey(dm),
			Sender: c.sender(c.meta.MRI), Timestamp: time.Now()},
		ID: ids.MessageID(ids.Teams, msgID), TransactionID: networkid.TransactionID(cmid),
		ConvertMessageFunc: func(context.Context, *bridgev2.Portal, bridgev2.MatrixAPI, *chatsvc.Message) (*bridgev2.ConvertedMessage, error) {
			return nil, bridgev2.ErrIgnoringRemoteEvent
		},
	}
	if r := c.Login.QueueRemoteEvent(echo); r.Error != nil {
		t.Fatal(r.Error)
	}
	e.h.WaitFor("the message to be deleted from Teams", func() bool {
		for _, m := range e.emu.MessagesFrom(e.me.MRI) {
			if m.ID == msgID {
				return m.Deleted
			}
		}
		return false
	})
	e.emu.ClearFaults()
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(e.room(e.me, dm), e.ghost(e.bob), "hi", "after")
	if e.rowOf(msgID) != "" {
		t.Error("the failed send got a row as if delivered")
	}
	for _, s := range e.h.Matrix.Statuses() {
		if s.EventID == evt && s.Status == event.MessageStatusSuccess {
			t.Errorf("the failed send got the status %+v", s)
		}
	}
}

// Teams takes a send (its echo completes the message) yet answers the
// bridge's request with an error, as a service does that stored the message
// and failed after: the message was delivered, so the bridge must not then
// show it as failed (the user would send it again and Teams have it twice).
func TestEchoBeforeFailedAnswerStaysDelivered(t *testing.T) {
	e := newEnv(t)
	dm, room, evt, cmid := e.heldSend("taken, then refused")
	msgID := e.emu.SendWith(e.me.MRI, dm, "<p>taken, then refused</p>", teamsemu.SendOptions{ClientMessageID: cmid})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	e.h.WaitFor("the row of the echoed message", func() bool { return e.rowOf(msgID) == evt })
	e.emu.ClearFaults()
	refused := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 403, Times: 1})
	e.h.WaitFor("the held send's retry to be refused", func() bool {
		return e.emu.FaultHits(refused) > 0 && e.client(e.me).sends.queue.Idle(dm)
	})
	// The chat goes on, so whatever the refusal caused has reached Matrix.
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(room, e.ghost(e.bob), "hi", "after")
	for _, s := range e.h.Matrix.Statuses() {
		if s.EventID == evt && !isSuccess(s) {
			t.Errorf("the delivered message got the status %+v", s)
		}
	}
	for _, m := range e.h.Matrix.Messages(room) {
		if c := m.Message(); c != nil && c.MsgType == event.MsgNotice && c.RelatesTo.GetReplyTo() == evt {
			t.Errorf("the room was told %q about the delivered message", c.Body)
		}
	}
	if got := e.sentTexts(); len(got) != 1 {
		t.Fatalf("Teams has %q", got)
	}
}
