package skype

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

// Another member reading the user's message in a group shows as their
// ghost's read receipt on it: Skype pushes a horizon only to its owner, so
// the bridge reads the members' horizons of groups the user wrote in.
func TestOthersReadMarkersBecomeGhostReceipts(t *testing.T) {
	testReadReceiptPoll = 20 * time.Millisecond
	t.Cleanup(func() { testReadReceiptPoll = 0 })
	e := newEnv(t)
	e.login()
	group := e.emu.CreateGroup(alice, "Team", carol, bob)
	e.emu.Send(alice, group, "welcome")
	room := e.h.PortalRoom(e.portal(group))
	e.waitTexts(room, e.ghost(alice), "welcome")
	evt := e.h.SendText(room, carolMX, "thanks!")
	if st := e.status(evt); st.Status != event.MessageStatusSuccess {
		t.Fatalf("send status %+v", st)
	}
	mine := e.sentBy(carol, 1)[0]
	e.emu.Read(bob, group, mine.ID)
	hasReceipt := func(user id.UserID) bool {
		for _, r := range e.h.Matrix.Receipts() {
			if r.RoomID == room && r.UserID == user && r.EventID == evt {
				return true
			}
		}
		return false
	}
	e.h.WaitFor("bob's read receipt on carol's message", func() bool { return hasReceipt(e.ghost(bob)) })
	if hasReceipt(e.ghost(alice)) {
		t.Error("alice, who read nothing, has a read receipt on carol's message")
	}
	// A second poll of the same horizon sends no second receipt.
	n := len(e.h.Matrix.Receipts())
	polls := countRequests(e, "/consumptionhorizons")
	e.h.WaitFor("two more polls of the read positions", func() bool { return countRequests(e, "/consumptionhorizons") >= polls+2 })
	if got := len(e.h.Matrix.Receipts()); got != n {
		t.Errorf("an unchanged read position was bridged again: %d receipts, then %d", n, got)
	}
}

func countRequests(e *env, pathPart string) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

// A /me action from Skype (skypeemoteoffset) is an m.emote without the
// sender's name in front.
func TestIncomingEmote(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	bobAPI := e.skypeUser(bob, "bob-pw")
	if _, err := bobAPI.Send(e.h.Ctx, "8:"+carol, skypeapi.Outgoing{Content: "waves", Emote: true, DisplayName: "Bob Brown"}); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("bob's /me", func() bool { return len(e.texts(room, e.ghost(bob))) == 2 })
	msgs := e.h.Matrix.Messages(room)
	got := msgs[len(msgs)-1].Message()
	if got.MsgType != event.MsgEmote || strings.TrimSpace(got.Body) != "waves" {
		t.Fatalf("bob's /me arrived as %s %q, want m.emote \"waves\"", got.MsgType, got.Body)
	}
}

// An m.notice from Matrix (a bot's output) reaches Skype as a message
// marked as a notice, after the quote when it is a reply; an edit of it
// keeps the mark.
func TestNoticeFromMatrixIsMarked(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "build?")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "build?")
	first := e.h.Matrix.Messages(room)[0].ID
	evt := e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "Build 42 passed",
		RelatesTo: &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: first}}})
	if st := e.status(evt); st.Status != event.MessageStatusSuccess {
		t.Fatalf("the notice was not sent: %+v", st)
	}
	sent := e.sentBy(carol, 1)[0]
	if !strings.HasPrefix(sent.Content, "<quote") || !strings.Contains(sent.Content, "</quote>"+noticeMarker+"Build 42 passed") {
		t.Fatalf("the notice reached Skype as %q, want the quote then %q", sent.Content, noticeMarker+"Build 42 passed")
	}
	e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "* Build 42 failed",
		NewContent: &event.MessageEventContent{MsgType: event.MsgNotice, Body: "Build 42 failed"},
		RelatesTo:  (&event.RelatesTo{}).SetReplace(evt)})
	e.h.WaitFor("the edited notice on Skype", func() bool {
		for _, m := range e.emu.Messages(carol, bob) {
			if m.ID == sent.ID && m.Edited {
				return m.Content == noticeMarker+"Build 42 failed"
			}
		}
		return false
	})
}
