package lync

import (
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// The events reference lets a server leave _embedded out of any event, and
// a server may answer application creation with only a Location and link
// the application's me, people and communication instead of embedding
// them (lync-ucwa.md §3.1, §4.2). The bridge must read each from its link.

// linkedApplication is a server whose application resource embeds nothing.
func linkedApplication(o *ucwaemu.Options) {
	o.CreateApplicationLocationOnly = true
	o.LinkApplicationResources = true
}

// nothingEmbedded is a server that embeds nothing at all.
func nothingEmbedded(o *ucwaemu.Options) {
	linkedApplication(o)
	o.OmitEventEmbedded = []string{"*"}
	o.OmitMessageEmbedded = true
}

func TestLoginWhenTheApplicationOnlyLinksMe(t *testing.T) {
	e := newEnv(t, withEmu(linkedApplication))
	if err := e.emu.AddContact(aliceSIP, bobSIP); err != nil {
		t.Fatal(err)
	}
	c := e.login() // waits for "Signed in to Skype for Business as Alice Liddell"
	if c.Login.RemoteProfile.Name != "Alice Liddell" || c.Login.RemoteProfile.Email != aliceSIP {
		t.Fatalf("remote profile %+v, want alice's name and address read from the me link", c.Login.RemoteProfile)
	}
	// people (contacts, search) and communication (startMessaging) are
	// links too.
	if contacts := e.h.Command(alice, "list-contacts"); !strings.Contains(contacts, "Bob Builder") {
		t.Fatalf("list-contacts: %q", contacts)
	}
	if found := e.h.Command(alice, "search "+string(aliceLID)+" Carol"); !strings.Contains(found, carolSIP) {
		t.Fatalf("search: %q", found)
	}
	e.h.CommandExpect(alice, "start-chat "+string(aliceLID)+" "+bobSIP, "Created a chat with `lync."+bobSIP+"`")
	if st := e.status(e.sendMatrix(e.dmRoom(bobSIP), "hello bob")); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if got := e.received(bobSIP, 1); got[0].Text != "hello bob" {
		t.Fatalf("bob received %+v", got)
	}
}

func TestOneToOneWhenNothingIsEmbedded(t *testing.T) {
	e := newEnv(t, withEmu(nothingEmbedded))
	e.login()
	bob := e.emu.Peer(bobSIP)
	thread, room := e.startDM("Hi Alice")
	if err := bob.Say(thread, "second"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "second")
	// The reply goes into the accepted conversation: its messaging was
	// announced Connected by an event without _embedded.
	if st := e.status(e.sendMatrix(room, "pong")); !isSuccess(st) {
		t.Fatalf("reply status %+v", st)
	}
	if got := e.received(bobSIP, 1); got[0].Text != "pong" || got[0].ThreadID != thread {
		t.Fatalf("bob received %+v, want pong in thread %s", got, thread)
	}
	// Bob closes the chat: messaging Disconnected (not embedded) ends it,
	// so the next Matrix message starts a new conversation.
	if err := bob.Leave(thread); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("bob's conversation to end", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && info.Ended
	})
	e.h.WaitFor("the bridge to see the conversation end", func() bool { return e.client().conv.forPortal(e.dmPortalID(bobSIP)) == nil })
	if st := e.status(e.sendMatrix(room, "still there?")); !isSuccess(st) {
		t.Fatalf("status after bob left %+v", st)
	}
	// The conversation the bridge started is usable too.
	if st := e.status(e.sendMatrix(room, "and again")); !isSuccess(st) {
		t.Fatalf("status of the second message in the new conversation %+v", st)
	}
	got := e.received(bobSIP, 3)
	if got[1].Text != "still there?" || got[2].Text != "and again" || got[1].ThreadID == thread || got[2].ThreadID != got[1].ThreadID {
		t.Fatalf("bob received %+v, want both in one new thread", got)
	}
	if err := bob.Say(got[1].ThreadID, "yes"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "second", "yes")
}

func TestGroupChatWhenNothingIsEmbedded(t *testing.T) {
	e := newEnv(t, withEmu(nothingEmbedded))
	e.login()
	bob, carol := e.emu.Peer(bobSIP), e.emu.Peer(carolSIP)
	thread, err := bob.StartGroup([]string{carolSIP, aliceSIP}, "Project X", "hello group")
	if err != nil {
		t.Fatal(err)
	}
	room := e.groupRoom(thread)
	// The conference's "Conferenced" state came in a conversation event
	// without _embedded; the bridge must still join its IM.
	e.h.WaitFor("alice to have joined the conference's IM", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && slices.Contains(info.InIM, "sip:"+aliceSIP)
	})
	if err = carol.Say(thread, "hi all"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(carolSIP), "hi all")
	e.waitTexts(room, e.ghost(bobSIP), "hello group")
	if st := e.status(e.sendMatrix(room, "hello both")); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if got := e.received(carolSIP, 2); got[len(got)-1].Text != "hello both" {
		t.Fatalf("carol received %+v", got)
	}
	r := e.h.Matrix.Room(room)
	if n := r.State[event.StateRoomName.Type+"|"]; n == nil || n.AsRoomName().Name != "Project X" {
		t.Fatalf("group room name %+v", n)
	}
	if err = carol.Leave(thread); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("carol's ghost to leave the group room", func() bool {
		return e.h.Matrix.Room(room).Members[e.ghost(carolSIP)] == event.MembershipLeave
	})
}

// A messaging resource that cannot be read for a while does not lose the
// batch: the cursor stays, the batch comes again, and nothing is doubled.
func TestUnreadableMessagingKeepsTheBatch(t *testing.T) {
	e := newEnv(t, withEmu(func(o *ucwaemu.Options) { o.OmitEventEmbedded = []string{"messaging"} }))
	e.login()
	// More failures than one batch's in-place retries.
	e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/messaging", Status: 503, Count: 8})
	thread, room := e.startDM("Hi Alice")
	e.h.WaitFor("the faults to be used", func() bool { return e.emu.PendingFaults() == 0 })
	if err := e.emu.Peer(bobSIP).Say(thread, "after the faults"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "after the faults")
	if st := e.status(e.sendMatrix(room, "pong")); !isSuccess(st) {
		t.Fatalf("reply status %+v", st)
	}
	if got := e.received(bobSIP, 1); got[0].Text != "pong" || got[0].ThreadID != thread {
		t.Fatalf("bob received %+v, want pong in thread %s", got, thread)
	}
}

// A restart resumes the application and re-learns its conversation, and a
// dropped application is recreated, from a server that embeds nothing.
func TestRestartAndRecreationWhenNothingIsEmbedded(t *testing.T) {
	e := newEnv(t, withEmu(nothingEmbedded))
	e.login()
	bob := e.emu.Peer(bobSIP)
	thread, room := e.startDM("before restart")
	app := e.appID()
	e.restart()
	e.connected()
	if got := e.appID(); got != app {
		t.Fatalf("the restart made a new application %s instead of resuming %s", got, app)
	}
	if err := bob.Say(thread, "after restart"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "before restart", "after restart")
	if st := e.status(e.sendMatrix(room, "still here")); !isSuccess(st) {
		t.Fatalf("reply after restart %+v", st)
	}
	if got := e.received(bobSIP, 1); got[0].Text != "still here" || got[0].ThreadID != thread {
		t.Fatalf("bob received %+v, want the reply in the surviving thread %s", got, thread)
	}
	if !e.emu.DeleteApplication(app) {
		t.Fatal("could not delete the application")
	}
	e.h.WaitFor("a new available application", func() bool {
		apps := e.emu.Applications(aliceSIP)
		return len(apps) == 1 && apps[0].ID != app && apps[0].Available
	})
	if _, err := bob.SendIM(aliceSIP, "after recreation"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "before restart", "after restart", "after recreation")
	if st := e.status(e.sendMatrix(room, "and a reply")); !isSuccess(st) {
		t.Fatalf("reply after recreation %+v", st)
	}
}

// A 1:1 chat a colleague adds a third person to becomes a group chat: the
// newcomer's participant resource is read from its link, and the
// conversation read from its link may count the newcomer before the
// participant event comes.
func TestOneToOneBecomesGroupWhenNothingIsEmbedded(t *testing.T) {
	e := newEnv(t, withEmu(nothingEmbedded))
	e.login()
	thread, _ := e.startDM("just us")
	if err := e.emu.Peer(bobSIP).AddParticipant(thread, carolSIP); err != nil {
		t.Fatal(err)
	}
	room := e.groupRoom(thread)
	e.h.WaitFor("carol's ghost in the group room", func() bool {
		return e.h.Matrix.Room(room).Members[e.ghost(carolSIP)] == event.MembershipJoin
	})
	if err := e.emu.Peer(carolSIP).Say(thread, "hi, I'm in"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(carolSIP), "hi, I'm in")
	if st := e.status(e.sendMatrix(room, "welcome")); !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if got := e.received(carolSIP, 1); got[0].Text != "welcome" {
		t.Fatalf("carol received %+v", got)
	}
}
