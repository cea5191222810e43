package teams

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// After downtime the bridge fills in what happened meanwhile — new
// messages, edits, deletions, reactions added and removed — each in its own
// room, messages in order, nothing twice.
func TestDowntimeEditsDeletionsAndReactionsAreFilledIn(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	toEdit := e.emu.SendText(e.bob.MRI, dm, "meet at 10")
	toDelete := e.emu.SendText(e.bob.MRI, dm, "wrong chat, sorry")
	toReact := e.emu.SendText(e.bob.MRI, dm, "slides attached")
	dmRoom := e.room(e.me, dm)
	e.waitTexts(dmRoom, e.ghost(e.bob), "meet at 10", "wrong chat, sorry", "slides attached")
	group := e.emu.CreateGroup(e.carol.MRI, "Offsite", e.me.MRI, e.bob.MRI)
	unreacted := e.emu.SendText(e.carol.MRI, group, "venue booked")
	groupRoom := e.room(e.me, group)
	e.waitTexts(groupRoom, e.ghost(e.carol), "venue booked")
	e.emu.React(e.bob.MRI, group, unreacted, "like")
	likeEvt := e.waitReaction(groupRoom, e.ghost(e.bob), e.eventFor(groupRoom, unreacted), "👍")
	editEvt, deleteEvt, reactEvt := e.eventFor(dmRoom, toEdit), e.eventFor(dmRoom, toDelete), e.eventFor(dmRoom, toReact)

	db := e.h.DBPath
	e.h.Stop()
	e.emu.Edit(dm, toEdit, "<p>meet at 11</p>")
	e.emu.Delete(dm, toDelete)
	e.emu.React(e.bob.MRI, dm, toReact, "heart")
	e.emu.Unreact(e.bob.MRI, group, unreacted, "like")
	e.emu.SendText(e.bob.MRI, dm, "while away 1")
	e.emu.SendText(e.carol.MRI, group, "group while away")
	e.emu.SendText(e.bob.MRI, dm, "while away 2")
	e.start(db)
	e.connected(e.me)

	e.waitTexts(dmRoom, e.ghost(e.bob), "meet at 10", "wrong chat, sorry", "slides attached", "while away 1", "while away 2")
	e.waitTexts(groupRoom, e.ghost(e.carol), "venue booked", "group while away")
	e.h.WaitFor("the edit made while the bridge was down", func() bool {
		for _, m := range e.h.Matrix.Messages(dmRoom) {
			if mc := m.Message(); mc != nil && mc.RelatesTo.GetReplaceID() == editEvt && mc.NewContent != nil && mc.NewContent.Body == "meet at 11" {
				return true
			}
		}
		return false
	})
	e.waitRedaction(dmRoom, deleteEvt)
	e.waitReaction(dmRoom, e.ghost(e.bob), reactEvt, "❤")
	e.waitRedaction(groupRoom, likeEvt)

	// Once each: one edit, the group's messages only in the group.
	edits := 0
	for _, m := range e.h.Matrix.Messages(dmRoom) {
		if mc := m.Message(); mc != nil && mc.RelatesTo.GetReplaceID() == editEvt {
			edits++
		}
		if mc := m.Message(); mc != nil && mc.Body == "group while away" {
			t.Errorf("the group's message showed up in the DM")
		}
	}
	if edits != 1 {
		t.Errorf("the edit is in Matrix %d times, want once", edits)
	}
}

// waitReaction waits for sender's reaction with emoji (variation selector
// ignored) on target and returns its event.
func (e *env) waitReaction(room id.RoomID, sender id.UserID, target id.EventID, emoji string) id.EventID {
	e.t.Helper()
	var found id.EventID
	e.h.WaitFor(string(sender)+"'s "+emoji+" on "+string(target), func() bool {
		for _, ev := range e.h.Matrix.Events(room) {
			if ev.Type != event.EventReaction || ev.Sender != sender {
				continue
			}
			rc := ev.Content.AsReaction()
			if rc.RelatesTo.EventID == target && strings.TrimSuffix(rc.RelatesTo.Key, "\ufe0f") == strings.TrimSuffix(emoji, "\ufe0f") {
				found = ev.ID
				return true
			}
		}
		return false
	})
	return found
}
