package lync

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// Tests for issue 7's "sending from Matrix" items.

// Item 7: a Matrix message waiting for its delivery report does not hold
// up the portal: a colleague's message into the same room arrives while
// it is still pending.
func TestPendingSendDoesNotBlockTheRoom(t *testing.T) {
	e := newEnv(t)
	e.conn.DeliveryTimeout = 30 * time.Second
	e.login()
	bob := e.emu.Peer(bobSIP)
	if err := bob.SetPolicy(ucwaemu.PolicyTimeout); err != nil {
		t.Fatal(err)
	}
	e.h.Command(alice, "start-chat "+string(aliceLID)+" "+bobSIP)
	room := e.dmRoom(bobSIP)
	evt := e.sendMatrix(room, "are you there?")
	if _, err := bob.SendIM(aliceSIP, "meanwhile"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "meanwhile")
	for _, s := range e.h.Matrix.Statuses() {
		if s.EventID == evt {
			t.Fatalf("the pending message was settled before its report: %+v", s)
		}
	}
}

// Item 7: a chat invitation nobody answers within the delivery timeout is
// withdrawn, so the message shown as failed cannot arrive later.
func TestUnansweredInvitationIsWithdrawn(t *testing.T) {
	e := newEnv(t)
	e.conn.DeliveryTimeout = time.Second
	e.login()
	bob := e.emu.Peer(bobSIP)
	if err := bob.SetPolicy(ucwaemu.PolicyTimeout); err != nil {
		t.Fatal(err)
	}
	e.h.Command(alice, "start-chat "+string(aliceLID)+" "+bobSIP)
	room := e.dmRoom(bobSIP)
	st := e.status(e.sendMatrix(room, "anyone?"))
	if st.Status == event.MessageStatusSuccess || !strings.Contains(st.Message, "withdrawn") {
		t.Fatalf("status %+v, want a failure saying the invitation was withdrawn", st)
	}
	if pending := bob.PendingInvitations(); len(pending) != 0 {
		t.Fatalf("bob still has the invitation: %v", pending)
	}
	if got := e.emu.Received(bobSIP); len(got) != 0 {
		t.Fatalf("bob received %+v", got)
	}
}

// Item 8: 503 and 429 answers to a send are retried (honouring
// Retry-After) and the message is delivered once.
func TestSendRetriedOnThrottlingAndUnavailable(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	if _, err := bob.SendIM(aliceSIP, "hello"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "hello")
	e.emu.InjectFault(ucwaemu.Fault{Method: "POST", PathContains: "/messaging/messages", Status: 503, Count: 2})
	e.emu.InjectFault(ucwaemu.Fault{Method: "POST", PathContains: "/messaging/messages", Status: 429, RetryAfter: "1"})
	if st := e.status(e.sendMatrix(room, "through the storm")); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if got := e.received(bobSIP, 1); len(got) != 1 || got[0].Text != "through the storm" {
		t.Fatalf("bob received %+v", got)
	}
	// A new conversation's invitation is retried the same way.
	e.emu.InjectFault(ucwaemu.Fault{Method: "POST", PathContains: "/messagingInvitations", Status: 503, Count: 1})
	e.h.Command(alice, "start-chat "+string(aliceLID)+" "+carolSIP)
	if st := e.status(e.sendMatrix(e.dmRoom(carolSIP), "hi carol")); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if got := e.received(carolSIP, 1); len(got) != 1 || got[0].Text != "hi carol" {
		t.Fatalf("carol received %+v", got)
	}
}

// Item 9: a message sent while the login is still reconnecting after a
// restart waits for the connection instead of failing with "not logged in".
func TestSendWhileReconnectingWaits(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	if _, err := bob.SendIM(aliceSIP, "hello"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "hello")
	// Hold the resumed session's first request, so the login is still
	// connecting when the message comes.
	e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/ucwa/oauth/v1/applications/", Delay: 700 * time.Millisecond})
	e.restart()
	evt := e.sendMatrix(room, "sent right after the restart")
	st := e.status(evt)
	if !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if strings.Contains(st.Message, "logged in") || strings.Contains(st.Error, "receiver login") {
		t.Fatalf("internal phrase shown: %+v", st)
	}
	if got := e.received(bobSIP, 1); got[0].Text != "sent right after the restart" {
		t.Fatalf("bob received %+v", got)
	}
}

// botNotices returns what the bridge bot said in a room.
func (e *env) botNotices(room id.RoomID) []string {
	var out []string
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender == bridgetest.BotMXID && m.Message() != nil {
			out = append(out, m.Message().Body)
		}
	}
	return out
}

func (e *env) waitNotice(room id.RoomID, want string) {
	e.t.Helper()
	e.h.WaitFor("a notice saying "+want, func() bool {
		for _, n := range e.botNotices(room) {
			if strings.Contains(n, want) {
				return true
			}
		}
		return false
	})
}

// Item 10: what Skype for Business cannot carry is not silently lost: an
// edit goes out as a correction; deletions, reactions, files, locations,
// notices and empty messages each get a visible notice in the room.
func TestUnsupportedMatrixFeaturesAreVisible(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	if _, err := bob.SendIM(aliceSIP, "hello"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "hello")
	orig := e.sendMatrix(room, "see you at 3")
	if st := e.status(orig); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgText, Body: "* see you at 4",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "see you at 4"},
		RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: orig},
	})
	if got := e.received(bobSIP, 2); got[1].Text != "Correction: see you at 4" {
		t.Fatalf("bob received %+v for the edit", got)
	}

	e.h.SendMatrix(room, alice, event.EventRedaction, &event.RedactionEventContent{Redacts: orig})
	e.waitNotice(room, "cannot delete messages")

	bobMsg := e.h.Matrix.Messages(room)[0].ID
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender == e.ghost(bobSIP) {
			bobMsg = m.ID
		}
	}
	e.h.SendMatrix(room, alice, event.EventReaction, &event.ReactionEventContent{
		RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: bobMsg, Key: "👍"},
	})
	e.waitNotice(room, "no reactions: your reaction 👍 was not sent")

	e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgImage, Body: "cat.png", FileName: "cat.png", URL: "mxc://test/cat",
	})
	e.waitNotice(room, "cannot carry files: cat.png")
	e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgLocation, Body: "Office", GeoURI: "geo:60.17,24.94",
	})
	e.waitNotice(room, "cannot show locations")
	if got := e.received(bobSIP, 4); got[3].Text != "📍 Office (60.17,24.94) https://www.openstreetmap.org/?mlat=60.17&mlon=24.94" {
		t.Fatalf("bob received %q for the location", got[3].Text)
	}
	// m.notice: TestMatrixNoticeIsAnsweredNotSent.
	e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: " \n\t "})
	e.waitNotice(room, "An empty message cannot be sent")
	for _, m := range e.emu.Received(bobSIP) {
		if strings.TrimSpace(m.Text) == "" {
			t.Fatalf("bob received %q", m.Text)
		}
	}
}

// Item 11: start-chat with an address nobody has is refused after a
// directory lookup, and no room is made.
func TestStartChatWithUnknownAddressIsRefused(t *testing.T) {
	e := newEnv(t)
	e.login()
	reply := e.h.Command(alice, "start-chat "+string(aliceLID)+" nobody@corp.example")
	if !strings.Contains(reply, "no one with the Skype for Business address nobody@corp.example") {
		t.Fatalf("start-chat reply: %q", reply)
	}
	if p, _ := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Lync, "nobody@corp.example"), Receiver: aliceLID}); p != nil && p.MXID != "" {
		t.Fatal("a room was created for an address that does not exist")
	}
	// A real colleague still works.
	if reply = e.h.Command(alice, "start-chat "+string(aliceLID)+" "+carolSIP); strings.Contains(reply, "no one") {
		t.Fatalf("start-chat with carol: %q", reply)
	}
	e.dmRoom(carolSIP)
}
