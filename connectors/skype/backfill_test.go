package skype

import (
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

func roomName(e *env, room id.RoomID) string {
	if n := e.h.Matrix.Room(room).State[event.StateRoomName.Type+"|"]; n != nil {
		return n.AsRoomName().Name
	}
	return ""
}

// A new login gets its recent chats with their history (bridgev2's
// forward backfill through FetchMessages), each message once.
func TestFirstLoginBackfillsHistory(t *testing.T) {
	e := newEnv(t, withBackfill())
	e.emu.Send(bob, carol, "old one")
	mid := e.emu.Send(bob, carol, "old two")
	e.emu.Send(carol, bob, "my old reply")
	e.emu.Edit(bob, carol, mid, "old two, edited")
	gone := e.emu.Send(bob, carol, "deleted one")
	e.emu.Delete(bob, carol, gone)
	group := e.emu.CreateGroup(alice, "Team chat", carol, bob)
	e.emu.Send(alice, group, "group history")
	e.login()
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "old one", "old two, edited")
	groupRoom := e.h.PortalRoom(e.portal(group))
	e.waitTexts(groupRoom, e.ghost(alice), "group history")
	if n := roomName(e, groupRoom); n != "Team chat" {
		t.Fatalf("group room name %q", n)
	}
	// Live messages follow the history, nothing doubled.
	e.emu.Send(bob, carol, "live")
	e.waitTexts(room, e.ghost(bob), "old one", "old two, edited", "live")
	// A restart with the room bridged does not backfill it again.
	e.restart()
	e.connected()
	e.emu.Send(bob, carol, "after restart")
	e.waitTexts(room, e.ghost(bob), "old one", "old two, edited", "live", "after restart")
}
