package teams

import "testing"

// A trouter.message_loss notice can come after later pushes went through
// (a front end notices its loss late). The push of a later message in
// another chat has moved the catch-up point past the lost one by then, so
// the catch-up must reach back to where pushes were last known complete.
func TestMessageLossNoticeAfterLaterPushesStillCatchesUp(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "one")
	dmRoom := e.room(e.me, dm)
	e.waitTexts(dmRoom, e.ghost(e.bob), "one")
	group := e.emu.CreateGroup(e.carol.MRI, "Late loss", e.me.MRI, e.bob.MRI)
	e.emu.SendText(e.carol.MRI, group, "g1")
	groupRoom := e.room(e.me, group)
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1")

	e.emu.HoldDeliveries(e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "lost push")
	if n := e.emu.DropHeldDeliveries(e.me.MRI); n == 0 {
		t.Fatal("no delivery was held back")
	}
	e.emu.SendText(e.carol.MRI, group, "g2 pushed")
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1", "g2 pushed")
	e.emu.SendMessageLoss(e.me.MRI)
	e.waitTexts(dmRoom, e.ghost(e.bob), "one", "lost push")
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(dmRoom, e.ghost(e.bob), "one", "lost push", "after")
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1", "g2 pushed")
}

// The stored catch-up point moves with every live push, so it only says
// that the pushes which came are in Matrix, not that none was lost: a push
// lost before a later one in another chat lies below it. A bridge restarted
// before the loss notice comes (or in the middle of its catch-up) must still
// reach back to where pushes were last known complete, so that floor is
// stored too.
func TestMessageLossAfterARestartReachesBackToTheStoredFloor(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "one")
	dmRoom := e.room(e.me, dm)
	e.waitTexts(dmRoom, e.ghost(e.bob), "one")
	group := e.emu.CreateGroup(e.carol.MRI, "Restart loss", e.me.MRI, e.bob.MRI)
	e.emu.SendText(e.carol.MRI, group, "g1")
	groupRoom := e.room(e.me, group)
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1")

	e.emu.HoldDeliveries(e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "lost push")
	if n := e.emu.DropHeldDeliveries(e.me.MRI); n == 0 {
		t.Fatal("no delivery was held back")
	}
	e.emu.SendText(e.carol.MRI, group, "g2 pushed")
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1", "g2 pushed")

	e.restart()
	e.emu.SendMessageLoss(e.me.MRI)
	e.waitTexts(dmRoom, e.ghost(e.bob), "one", "lost push")
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(dmRoom, e.ghost(e.bob), "one", "lost push", "after")
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1", "g2 pushed")
}

// A reconnect's catch-up starts at the catch-up point, above a push lost
// before it; finishing it must not raise the floor over that push, or the
// loss notice that follows the reconnect would start above it too.
func TestMessageLossAfterAReconnectCatchUpStillReachesBack(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "one")
	dmRoom := e.room(e.me, dm)
	e.waitTexts(dmRoom, e.ghost(e.bob), "one")
	group := e.emu.CreateGroup(e.carol.MRI, "Reconnect loss", e.me.MRI, e.bob.MRI)
	e.emu.SendText(e.carol.MRI, group, "g1")
	groupRoom := e.room(e.me, group)
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1")

	e.emu.HoldDeliveries(e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "lost push")
	if n := e.emu.DropHeldDeliveries(e.me.MRI); n == 0 {
		t.Fatal("no delivery was held back")
	}
	e.emu.SendText(e.carol.MRI, group, "g2 pushed")
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1", "g2 pushed")

	before := e.emu.Trouter(e.me.MRI).Connects
	e.emu.DropTrouter(e.me.MRI, false)
	e.h.WaitFor("the bridge reconnected", func() bool {
		st := e.emu.Trouter(e.me.MRI)
		return st.Connects > before && st.Connected > 0
	})
	// Pushes are handled after the reconnect's catch-up, in order: once g3
	// is in Matrix, that catch-up is complete.
	e.emu.SendText(e.carol.MRI, group, "g3 after reconnect")
	e.waitTexts(groupRoom, e.ghost(e.carol), "g1", "g2 pushed", "g3 after reconnect")
	e.emu.SendMessageLoss(e.me.MRI)
	e.waitTexts(dmRoom, e.ghost(e.bob), "one", "lost push")
}
