package lync

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

func TestSamePersonSameRoomAcrossConversations(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	first, err := bob.SendIM(aliceSIP, "first conversation")
	if err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "first conversation")
	e.h.WaitFor("alice in the first conversation", func() bool {
		info, ok := e.emu.Thread(first)
		return ok && len(info.Members) == 2
	})
	if err = bob.Leave(first); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("the first conversation to end", func() bool {
		info, ok := e.emu.Thread(first)
		return ok && info.Ended
	})
	second, err := bob.SendIM(aliceSIP, "second conversation")
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatal("the emulator reused the ended thread")
	}
	e.waitTexts(room, e.ghost(bobSIP), "first conversation", "second conversation")
	e.restart()
	e.connected()
	if _, err = bob.SendIM(aliceSIP, "after restart"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "first conversation", "second conversation", "after restart")
	if n := len(e.h.Matrix.Rooms()); n > 3 { // management room is not counted; DM + at most a space
		t.Fatalf("%d rooms were created for one colleague", n)
	}
}

func TestGhostHasNameAndPhoto(t *testing.T) {
	e := newEnv(t)
	e.login()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "look at my photo"); err != nil {
		t.Fatal(err)
	}
	e.dmRoom(bobSIP)
	e.h.WaitFor("bob's ghost to have a name and an avatar", func() bool {
		p := e.h.Matrix.Profile(e.ghost(bobSIP))
		if p == nil || p.DisplayName != "Bob Builder" || p.AvatarURL == "" {
			return false
		}
		data, ok := e.h.Matrix.Media(p.AvatarURL)
		return ok && len(data) > 8 && string(data[1:4]) == "PNG"
	})
}

func TestInvitingAGhostStartsADM(t *testing.T) {
	e := newEnv(t)
	e.login()
	room := id.RoomID("!byhand:" + "test")
	e.h.Matrix.AddRoom(room, map[id.UserID]event.Membership{alice: event.MembershipJoin})
	ghost := e.ghost(carolSIP)
	evt := &event.MemberEventContent{Membership: event.MembershipInvite, IsDirect: true}
	e.h.SendMatrixState(room, alice, event.StateMember, string(ghost), evt)
	e.h.WaitFor("carol's ghost to join the room", func() bool {
		return e.h.Matrix.Room(room).Members[ghost] == event.MembershipJoin
	})
	e.h.WaitFor("the room to become carol's DM portal", func() bool {
		p, err := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Lync, carolSIP), Receiver: aliceLID})
		return err == nil && p != nil
	})
	e.sendMatrix(room, "hi carol")
	if got := e.received(carolSIP, 1); got[0].Text != "hi carol" {
		t.Fatalf("carol received %q", got[0].Text)
	}
}

func TestRoomFeaturesDeclareWhatLyncCarries(t *testing.T) {
	caps := (&Client{}).GetCapabilities(context.Background(), nil)
	if caps.Reaction != event.CapLevelRejected || caps.Delete != event.CapLevelRejected {
		t.Fatalf("reactions/deletions must be declared unsupported: %+v", caps)
	}
	if caps.Edit != event.CapLevelPartialSupport {
		t.Fatalf("edits go out as corrections, partially supported: %+v", caps.Edit)
	}
	if f := caps.File[event.MsgFile]; f == nil || f.MimeTypes["*/*"] != event.CapLevelPartialSupport {
		t.Fatalf("files must be declared as partially supported (sent as a notice): %+v", caps.File)
	}
	if !caps.TypingNotifications {
		t.Fatal("typing must be declared")
	}
}

// Item 13: the room of an incoming chat is created with the colleague's
// name and photo (so the invite shows them), and the user's own ghost is
// named.
func TestIncomingChatRoomHasNameAvatarAndNamedOwnGhost(t *testing.T) {
	e := newEnv(t, withDMRoomMeta())
	e.login()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "hi"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "hi")
	req := e.h.Matrix.Room(room).Request
	var name string
	var avatar id.ContentURIString
	for _, st := range req.InitialState {
		switch st.Type {
		case event.StateRoomName:
			name = st.Content.AsRoomName().Name
		case event.StateRoomAvatar:
			avatar = st.Content.AsRoomAvatar().URL
		}
	}
	if req.Name != "" {
		name = req.Name
	}
	if name != "Bob Builder" || avatar == "" {
		t.Fatalf("the new room's initial name %q and avatar %q, want Bob Builder and his photo", name, avatar)
	}
	e.h.WaitFor("alice's own ghost to be named", func() bool {
		p := e.h.Matrix.Profile(e.ghost(aliceSIP))
		return p != nil && p.DisplayName == "Alice Liddell"
	})
}

// A portal of another protocol whose receiver is the Lync login (a
// corrupted row, or a routing bug) reaches the real Lync client through
// bridgev2 and is refused there: the message fails and nothing is sent to
// Skype for Business.
func TestForeignPortalThroughBridgeIsRefusedByLyncClient(t *testing.T) {
	e := newEnv(t)
	e.login()
	ctx := e.h.Ctx
	portal, err := e.h.Bridge.GetPortalByKey(ctx, networkid.PortalKey{ID: ids.PortalID(ids.Teams, "19:chat@thread.v2"), Receiver: aliceLID})
	if err != nil {
		t.Fatal(err)
	}
	room := id.RoomID("!foreign:" + bridgetest.ServerName)
	e.h.Matrix.AddRoom(room, map[id.UserID]event.Membership{alice: event.MembershipJoin, bridgetest.BotMXID: event.MembershipJoin})
	if err := portal.UpdateMatrixRoomID(ctx, room, bridgev2.UpdateMatrixRoomIDParams{FailIfMXIDSet: true, ChatInfo: &bridgev2.ChatInfo{}}); err != nil {
		t.Fatal(err)
	}
	before := e.emu.Requests()
	st := e.status(e.sendMatrix(room, "to the wrong network"))
	if st.Status == event.MessageStatusSuccess || !strings.Contains(st.Error, "teams") {
		t.Fatalf("status %+v, want a failure naming the foreign ID", st)
	}
	if sent := e.emu.Sent(aliceSIP); len(sent) != 0 {
		t.Fatalf("the Lync client sent %+v", sent)
	}
	if n := e.emu.Requests() - before; n > 2 {
		t.Fatalf("the foreign message made %d requests to the Lync server", n)
	}
}
