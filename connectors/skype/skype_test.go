package skype

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

func TestLoginAndDMBothWays(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "Hi <b raw_pre=\"*\" raw_post=\"*\">Carol</b>")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "Hi **Carol**")
	if got := e.h.Matrix.Messages(room)[0].Message().FormattedBody; got != "Hi <strong>Carol</strong>" && got != "Hi <b>Carol</b>" {
		t.Fatalf("formatted body = %q", got)
	}
	if invite := e.h.Matrix.Room(room).State[event.StateMember.Type+"|"+string(carolMX)]; invite == nil || invite.Raw["is_direct"] != true {
		t.Fatalf("carol's invite to the DM is not marked is_direct: %+v", invite)
	}
	e.h.WaitFor("bob's ghost to be named", func() bool {
		p := e.h.Matrix.Profile(e.ghost(bob))
		return p != nil && p.DisplayName == "Bob Brown"
	})

	evt := e.h.SendText(room, carolMX, "hello bob")
	sent := e.sentBy(carol, 1)
	if sent[0].Content != "hello bob" || sent[0].ClientMessageID == "" {
		t.Fatalf("sent %+v", sent[0])
	}
	if st := e.status(evt); st.Status != event.MessageStatusSuccess {
		t.Fatalf("status of the sent message: %+v", st)
	}
	// The echo came back through carol's own event stream and was matched
	// by clientmessageid, not bridged a second time.
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "Hi **Carol**", "marker")
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender != e.ghost(bob) && m.Message() != nil && m.Message().Body == "hello bob" {
			t.Fatalf("the echo of carol's message was bridged into Matrix by %s", m.Sender)
		}
	}
	part, err := e.h.Bridge.DB.Message.GetFirstPartByID(e.h.Ctx, carolLID, msgID("8:"+bob, sent[0].ClientMessageID, ""))
	if err != nil || part == nil || part.MXID != evt {
		t.Fatalf("the sent message's row: %+v, %v", part, err)
	}
	if pm, _ := messageMeta.Get(part.Metadata); pm.ServerID != sent[0].ID {
		t.Fatalf("server id stored %q, want %q", pm.ServerID, sent[0].ID)
	}
}

func TestLoginWrongPassword(t *testing.T) {
	e := newEnv(t)
	e.h.CommandPrompt(carolMX, "login skype", "E-mail or Skype name")
	e.h.CommandPrompt(carolMX, carol, "Password")
	reply := e.h.CommandExpect(carolMX, "wrong-pw", "refused")
	if !strings.Contains(reply, "wrong account name or password for "+carol) || strings.Contains(reply, "wrong-pw") {
		t.Fatalf("reply: %q", reply)
	}
	if e.h.Bridge.GetCachedUserLoginByID(carolLID) != nil {
		t.Fatal("a failed login left a login behind")
	}
	e.login()
}

func TestTokenLogin(t *testing.T) {
	e := newEnv(t)
	tok := e.emu.MintToken(carol)
	e.h.CommandPrompt(carolMX, "login skype-token", "skypetoken")
	e.h.CommandExpect(carolMX, tok, "Signed in to Skype as Carol Clark")
	c := e.connected()
	if c.meta.SealedPassword != "" {
		t.Fatal("a token login stored a password")
	}
	if strings.Contains(c.meta.SealedToken, tok) {
		t.Fatal("the skypetoken is stored unsealed")
	}
}

func TestEditAndDeleteBothWays(t *testing.T) {
	e := newEnv(t)
	e.login()
	mid := e.emu.Send(bob, carol, "typo")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "typo")
	e.emu.Edit(bob, carol, mid, "fixed")
	e.h.WaitFor("bob's edit", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); mc != nil && mc.NewContent != nil && mc.NewContent.Body == "fixed" {
				return true
			}
		}
		return false
	})
	e.emu.Delete(bob, carol, mid)
	e.h.WaitFor("bob's delete", func() bool { return len(redactions(e, room)) == 1 })

	// Matrix → Skype.
	evt := e.h.SendText(room, carolMX, "frist")
	sent := e.sentBy(carol, 1)
	e.status(evt)
	e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgText, Body: "* first",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "first"},
		RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: evt},
	})
	e.h.WaitFor("carol's edit on Skype", func() bool {
		for _, m := range e.emu.SentBy(carol) {
			if m.ID == sent[0].ID && m.Content == "first" && m.Edited {
				return true
			}
		}
		return false
	})
	e.h.SendMatrix(room, carolMX, event.EventRedaction, &event.RedactionEventContent{Redacts: evt})
	e.h.WaitFor("carol's delete on Skype", func() bool {
		for _, m := range e.emu.SentBy(carol) {
			if m.ID == sent[0].ID && m.Deleted {
				return true
			}
		}
		return false
	})
	// The echoes of carol's own edit and delete were not applied again.
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "typo", "* fixed", "marker")
	if n := len(redactions(e, room)); n != 1 {
		t.Fatalf("%d redactions by the bridge, want only bob's", n)
	}
	for _, m := range e.h.Matrix.Messages(room) {
		if mc := m.Message(); mc != nil && mc.NewContent != nil && mc.NewContent.Body == "first" {
			t.Fatalf("the echo of carol's edit was bridged back: %+v", m)
		}
	}
}

func redactions(e *env, room id.RoomID) []id.EventID {
	var out []id.EventID
	for _, ev := range e.h.Matrix.Events(room) {
		if ev.Type == event.EventRedaction {
			out = append(out, ev.ID)
		}
	}
	return out
}

func TestRestartCatchesUpWithoutDoubles(t *testing.T) {
	e := newEnv(t)
	e.login()
	one := e.emu.Send(bob, carol, "one")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "one")
	e.emu.Edit(bob, carol, one, "one!")
	e.waitTexts(room, e.ghost(bob), "one", "* one!")
	e.h.Stop()
	// While the bridge is down the endpoint lapses and messages arrive.
	e.emu.DropEndpoints(carol)
	e.emu.Send(bob, carol, "two")
	e.emu.Send(bob, carol, "three")
	e.start(e.h.DBPath)
	e.connected()
	// The catch-up saw the edit again (its window reaches back a minute)
	// and did not apply it twice.
	e.waitTexts(room, e.ghost(bob), "one", "* one!", "two", "three")
	e.emu.Send(bob, carol, "four")
	e.waitTexts(room, e.ghost(bob), "one", "* one!", "two", "three", "four")
}

// Edits and deletes made while the bridge was down reach Matrix from the
// history (which shows them as edittime/deletetime on the original).
func TestEditsAndDeletesWhileDownAreCaughtUp(t *testing.T) {
	e := newEnv(t)
	e.login()
	keep := e.emu.Send(bob, carol, "keep me")
	gone := e.emu.Send(bob, carol, "delete me")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "keep me", "delete me")
	e.h.Stop()
	e.emu.DropEndpoints(carol)
	e.emu.Edit(bob, carol, keep, "kept, edited")
	e.emu.Delete(bob, carol, gone)
	e.start(e.h.DBPath)
	e.connected()
	e.h.WaitFor("the edit and the delete", func() bool {
		return len(redactions(e, room)) == 1 && len(e.texts(room, e.ghost(bob))) == 3
	})
	if got := e.texts(room, e.ghost(bob)); got[2] != "* kept, edited" {
		t.Fatalf("texts %q", got)
	}
	// A second restart applies neither again.
	e.restart()
	e.connected()
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "keep me", "delete me", "* kept, edited", "marker")
	if n := len(redactions(e, room)); n != 1 {
		t.Fatalf("%d redactions", n)
	}
}
