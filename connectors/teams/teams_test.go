package teams

import (
	"testing"
)

func TestDeviceCodeLoginAndIncomingDM(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hello alice")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hello alice")
}
