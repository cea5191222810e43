//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// teamsRoomTexts is what a fault case sends into one chat and where it must
// show up in Matrix.
type teamsRoomTexts struct {
	conv, room string
	portal     id.RoomID
	from       *teamsemu.User
	texts      []string
}

// TestTeamsPushChannelFaults drops and starves the Trouter push channel of a
// logged-in work account in each way the issue names — the socket closed
// cleanly (websocket close frame), deliveries held back and then reported
// lost (trouter.message_loss), the same loss reported only after a later
// push went through, and deliveries whose acks are lost (sent again) — while colleagues write into a DM and a group chat. Every message
// sent meanwhile must arrive exactly once, in order, in its own room, and
// the user's message sent while the pushes are held must reach Teams once
// without its echo coming back.
// (The reset without a close frame is in TestTeamsConversation.)
func TestTeamsPushChannelFaults(t *testing.T) {
	requireEnv(t)
	if teamsEmu == nil {
		t.Fatal("the Teams emulator was not started by the set-up hook")
	}
	emu := teamsEmu
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	me := teamsAccount(t, false, "gina", "Gina Green")
	bob := teamsAccount(t, false, "bob", "Bob Brown")
	carol := teamsAccount(t, false, "carol", "Carol Clark")
	bobGhost, carolGhost := teamsGhost(bob.MRI), teamsGhost(carol.MRI)

	user := newUser(t, ctx, "teamsfault")
	mgmt := openManagementRoom(t, ctx, user)
	teamsLogin(t, ctx, user, mgmt, me, "work")

	inviteMark, mark := user.InviteMark(), user.Mark()
	dm := emu.OneToOne(bob.MRI, me.MRI)
	first := "Morning! [pf0]"
	emu.SendText(bob.MRI, dm, first)
	dmRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, bobGhost, true)
	waitGhostMessage(t, ctx, user, dmRoom, bobGhost, mark, first, "bob's first DM")

	inviteMark = user.InviteMark()
	group := emu.CreateGroup(carol.MRI, "Faults", me.MRI, bob.MRI)
	gfirst := "Group is up. [pg0]"
	emu.SendText(carol.MRI, group, gfirst)
	groupRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, carolGhost, false)
	waitGhostMessage(t, ctx, user, groupRoom, carolGhost, mark, gfirst, "carol's first group message")

	chats := func(dmTexts, groupTexts []string) []teamsRoomTexts {
		return []teamsRoomTexts{
			{conv: dm, room: "the DM", portal: dmRoom, from: bob, texts: dmTexts},
			{conv: group, room: "the group", portal: groupRoom, from: carol, texts: groupTexts},
		}
	}
	// send interleaves the chats' messages, as colleagues writing at once.
	send := func(cs []teamsRoomTexts) {
		for i := 0; ; i++ {
			sent := false
			for _, c := range cs {
				if i < len(c.texts) {
					emu.SendText(c.from.MRI, c.conv, c.texts[i])
					sent = true
				}
			}
			if !sent {
				return
			}
		}
	}
	all := map[id.RoomID][]string{dmRoom: {first}, groupRoom: {gfirst}}
	await := func(what string, cs []teamsRoomTexts) {
		t.Helper()
		for _, c := range cs {
			for _, text := range c.texts {
				waitGhostMessage(t, ctx, user, c.portal, teamsGhost(c.from.MRI), mark, text, what+" in "+c.room)
			}
			all[c.portal] = append(all[c.portal], c.texts...)
			checkOnceInOrder(t, user, c.portal, teamsGhost(c.from.MRI), mark, all[c.portal], what+" in "+c.room)
		}
		checkNotCrossed(t, user, mark, cs, what)
	}

	// (1) A clean close: the server sends a websocket close frame. What
	// is sent before the bridge is back comes through the catch-up.
	connects := emu.Trouter(me.MRI).Connects
	emu.DropTrouter(me.MRI, true)
	closed := chats([]string{"After the close 1 [pc1]", "After the close 2 [pc2]", "After the close 3 [pc3]"},
		[]string{"Group after the close 1 [pgc1]", "Group after the close 2 [pgc2]"})
	send(closed)
	await("messages sent around a clean close", closed)
	if !emu.WaitFor(teamsStepTimeout, func() bool { return emu.Trouter(me.MRI).Connects > connects }) {
		t.Errorf("the bridge did not reconnect the Trouter socket after a clean close (%d connections)", emu.Trouter(me.MRI).Connects)
	}
	live := chats([]string{"Live again [pl1]"}, []string{"Group live again [pgl1]"})
	send(live)
	await("live messages after the clean close", live)

	// (2) Deliveries held back, then dropped with a trouter.message_loss
	// notice: the socket stays up, so only the notice tells the bridge to
	// catch up. The user's own message sent meanwhile reaches Teams once
	// and its (held) echo never comes back as a ghost message.
	emu.HoldDeliveries(me.MRI)
	held := chats([]string{"Held 1 [ph1]", "Held 2 [ph2]", "Held 3 [ph3]"}, []string{"Group held 1 [pgh1]", "Group held 2 [pgh2]"})
	send(held)
	mine := "Sent while the pushes are held [ph-r1]"
	sendAndAwaitTeams(t, ctx, user, dmRoom, dm, me, mine)
	if n := emu.ReleaseWithLoss(me.MRI); n < len(held[0].texts)+len(held[1].texts) {
		t.Fatalf("the emulator held back %d deliveries, want at least the %d messages", n, len(held[0].texts)+len(held[1].texts))
	}
	await("messages whose pushes were lost (message_loss)", held)
	after := chats([]string{"After the loss [pa1]"}, []string{"Group after the loss [pga1]"})
	send(after)
	await("live messages after the message_loss", after)

	// (3) The loss noticed late: held deliveries are dropped silently, a
	// later message in the group is pushed (and bridged) first, and only
	// then does the trouter.message_loss notice come. The DM's lost
	// messages still arrive, before the DM's next one.
	emu.HoldDeliveries(me.MRI)
	lateLost := chats([]string{"Lost late 1 [pll1]", "Lost late 2 [pll2]"}, nil)
	send(lateLost)
	if n := emu.DropHeldDeliveries(me.MRI); n < len(lateLost[0].texts) {
		t.Fatalf("the emulator dropped %d deliveries, want at least the %d messages", n, len(lateLost[0].texts))
	}
	pushedFirst := chats(nil, []string{"Group pushed before the notice [pgl2]"})
	send(pushedFirst)
	await("a group message pushed before the late message_loss notice", pushedFirst)
	emu.SendMessageLoss(me.MRI)
	await("messages whose loss was noticed late", lateLost)
	afterLate := chats([]string{"After the late notice [pal1]"}, []string{"Group after the late notice [pgal1]"})
	send(afterLate)
	await("live messages after the late message_loss", afterLate)

	// (4) Lost acks: the server sends those deliveries again.
	st := emu.Trouter(me.MRI)
	emu.LoseNextAck(me.MRI, 3)
	redelivered := chats([]string{"Ack lost 1 [pk1]", "Ack lost 2 [pk2]"}, []string{"Group ack lost [pgk1]"})
	send(redelivered)
	await("messages whose acks were lost", redelivered)
	if !emu.WaitFor(teamsStepTimeout, func() bool { s := emu.Trouter(me.MRI); return s.Delivered-st.Delivered > s.Acked-st.Acked }) {
		t.Errorf("no delivery was sent again after its ack was lost (delivered %d, acked %d since)", emu.Trouter(me.MRI).Delivered-st.Delivered, emu.Trouter(me.MRI).Acked-st.Acked)
	}
	last := chats([]string{"All done [pz1]"}, []string{"Group all done [pgz1]"})
	send(last)
	await("the last messages", last)

	if n := countTeamsSent(dm, me, mine); n != 1 {
		t.Errorf("Teams has %q %d times from the user, want once", mine, n)
	}
	meGhost := teamsGhost(me.MRI)
	for _, room := range []id.RoomID{dmRoom, groupRoom} {
		for _, r := range user.Messages(room, mark) {
			if r.Event.Sender == meGhost {
				t.Errorf("an echo of the user's own message came back as %q from their ghost", r.Event.Content.AsMessage().Body)
			}
		}
	}
}

// checkNotCrossed checks that no chat's messages showed up in another
// chat's room.
func checkNotCrossed(t *testing.T, cli *mxclient.Client, mark int, cs []teamsRoomTexts, what string) {
	t.Helper()
	for _, c := range cs {
		for _, other := range cs {
			if other.portal == c.portal {
				continue
			}
			for _, text := range c.texts {
				for _, r := range cli.Messages(other.portal, mark) {
					if r.Event.Content.AsMessage().Body == text {
						t.Errorf("%s: %q from %s showed up in %s", what, text, c.room, other.room)
					}
				}
			}
		}
	}
}
