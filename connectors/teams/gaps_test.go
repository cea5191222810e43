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
