package lync

import (
	"slices"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
)

// groupRoom waits for the group portal of a thread.
func (e *env) groupRoom(threadID string) id.RoomID {
	e.t.Helper()
	return e.h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Lync, groupPrefix+threadID), Receiver: aliceLID})
}

func TestGroupChatMapsToGroupRoomAndKeepsMembersInSync(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob, carol := e.emu.Peer(bobSIP), e.emu.Peer(carolSIP)
	// Carol (no application of her own) joins at once, so alice is invited
	// into a conversation that already has two people in it.
	thread, err := bob.StartGroup([]string{carolSIP, aliceSIP}, "Project X", "hello group")
	if err != nil {
		t.Fatal(err)
	}
	room := e.groupRoom(thread)
	e.h.WaitFor("everyone in the thread", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && len(info.Members) == 3
	})
	// Skype for Business invites into a conference; the bridge must have
	// joined its IM (addMessaging) to receive anything.
	e.h.WaitFor("alice to have joined the conference's IM", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && slices.Contains(info.InIM, "sip:"+aliceSIP)
	})
	if err = carol.Say(thread, "hi all"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(carolSIP), "hi all")
	if got := e.texts(room, e.ghost(bobSIP)); len(got) != 1 || got[0] != "hello group" {
		t.Fatalf("bob's messages in the group room: %q", got)
	}
	r := e.h.Matrix.Room(room)
	nameEvt := r.State[event.StateRoomName.Type+"|"]
	if nameEvt == nil || nameEvt.AsRoomName().Name != "Project X" {
		t.Fatalf("group room name state = %+v", nameEvt)
	}
	for _, g := range []id.UserID{e.ghost(bobSIP), e.ghost(carolSIP)} {
		if r.Members[g] != event.MembershipJoin {
			t.Fatalf("%s is %q in the group room", g, r.Members[g])
		}
	}
	e.sendMatrix(room, "hello both")
	// Bob has carol's "hi all" already; alice's message is his second.
	if got := e.received(bobSIP, 2); got[len(got)-1].Text != "hello both" {
		t.Fatalf("bob received %+v", got)
	}
	if got := e.received(carolSIP, 2); got[len(got)-1].Text != "hello both" {
		t.Fatalf("carol received %+v", got)
	}
	if err = carol.Leave(thread); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("carol's ghost to leave the group room", func() bool {
		return e.h.Matrix.Room(room).Members[e.ghost(carolSIP)] == event.MembershipLeave
	})
	if p, _ := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Lync, bobSIP), Receiver: aliceLID}); p != nil && p.MXID != "" {
		t.Fatal("the group conversation also created a DM with its starter")
	}
}

// Item 12: resyncing a group room while its conversation is not live (or
// cannot be read) keeps its members and name.
func TestGroupResyncWhenIdleKeepsMembersAndName(t *testing.T) {
	e := newEnv(t)
	e.login()
	thread, err := e.emu.Peer(bobSIP).StartGroup([]string{carolSIP, aliceSIP}, "Project X", "hello group")
	if err != nil {
		t.Fatal(err)
	}
	room := e.groupRoom(thread)
	e.h.WaitFor("both colleagues in the group room", func() bool {
		r := e.h.Matrix.Room(room)
		return r.Members[e.ghost(bobSIP)] == event.MembershipJoin && r.Members[e.ghost(carolSIP)] == event.MembershipJoin &&
			r.State[event.StateRoomName.Type+"|"] != nil
	})
	c := e.client()
	c.conv.reset() // the conversation is gone: the group is idle
	key := networkid.PortalKey{ID: ids.PortalID(ids.Lync, groupPrefix+thread), Receiver: aliceLID}
	res := c.Login.QueueRemoteEvent(&simplevent.ChatResync{
		EventMeta:       simplevent.EventMeta{Type: bridgev2.RemoteEventChatResync, PortalKey: key},
		GetChatInfoFunc: c.GetChatInfo,
	})
	if !res.Success {
		t.Fatalf("resync: %+v", res)
	}
	r := e.h.Matrix.Room(room)
	for _, g := range []id.UserID{e.ghost(bobSIP), e.ghost(carolSIP)} {
		if r.Members[g] != event.MembershipJoin {
			t.Fatalf("the idle resync made %s %q", g, r.Members[g])
		}
	}
	if n := r.State[event.StateRoomName.Type+"|"]; n == nil || n.AsRoomName().Name != "Project X" {
		t.Fatalf("room name after the resync: %+v", n)
	}
}
