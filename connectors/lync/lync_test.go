package lync

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

func TestLoginErrors(t *testing.T) {
	e := newEnv(t)
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	if reply := e.h.CommandExpect(alice, "wrong", "rejected"); !strings.Contains(reply, "rejected the password for "+aliceSIP) {
		t.Fatalf("wrong password reply: %q", reply)
	}
	if strings.Contains(strings.Join(e.h.BotReplies(alice), "\n"), "wrong") {
		t.Fatal("the bot repeated the password")
	}
	if e.h.Bridge.GetCachedUserLoginByID(aliceLID) != nil {
		t.Fatal("a failed login left a login behind")
	}
	e.login()
}

func TestLoginAsksForDiscoveryURLWhenDomainHasNone(t *testing.T) {
	e := newEnv(t, withoutDiscoveryURL())
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	e.h.CommandPrompt(alice, alicePass, "No Skype for Business server could be found for corp.example")
	e.h.CommandExpect(alice, "http://127.0.0.1:1/", "no Skype for Business server answered at that discovery URL")
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	e.h.CommandPrompt(alice, alicePass, "Discovery URL")
	e.h.CommandExpect(alice, e.srv.URL+"/", "Signed in to Skype for Business")
	e.connected()
}

func TestIncomingIMCreatesDMWithGhostOnce(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	thread, err := bob.SendIM(aliceSIP, "Hi Alice\r\n")
	if err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice")
	e.h.WaitFor("bob's ghost to be named", func() bool {
		p := e.h.Matrix.Profile(e.ghost(bobSIP))
		return p != nil && p.DisplayName == "Bob Builder"
	})
	// Element shows the room as a DM only if the user's invite says so.
	invite := e.h.Matrix.Room(room).State[event.StateMember.Type+"|"+string(alice)]
	if invite == nil || invite.Raw["is_direct"] != true {
		t.Fatalf("alice's invite to the DM is not marked is_direct: %+v", invite)
	}
	// The invitation was accepted: the conversation is live with both members.
	e.h.WaitFor("alice to join bob's conversation", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && len(info.Members) == 2
	})
	if _, err = bob.SendHTML(aliceSIP, `<b>bold</b> move<script>alert(1)</script>`); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "**bold** move")
	msgs := e.h.Matrix.Messages(room)
	last := msgs[len(msgs)-1].Message()
	if last.FormattedBody != "<b>bold</b> move" {
		t.Fatalf("formatted body = %q", last.FormattedBody)
	}
	// Nothing arrives twice: a later message from bob comes after both,
	// and the event channel is ordered, so a repeat would be before it.
	if err = bob.Say(thread, "marker"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "**bold** move", "marker")
}

func TestReplyGoesOutAndOwnEchoStaysOut(t *testing.T) {
	e := newEnv(t)
	e.login()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "ping"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "ping")
	evt := e.sendMatrix(room, "pong")
	got := e.received(bobSIP, 1)
	if got[0].Text != "pong" || got[0].From != "sip:"+aliceSIP {
		t.Fatalf("bob received %+v", got[0])
	}
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("status of a delivered message = %+v", st)
	}
	// Our own message must not come back: bob's next message arrives after
	// where its echo would be (the event channel is ordered).
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "marker"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "ping", "marker")
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Message() != nil && m.Message().Body == "pong" {
			t.Fatalf("our own message came back from %s", m.Sender)
		}
	}
}

func TestMatrixStartsConversationAndQueuesWhileConnecting(t *testing.T) {
	e := newEnv(t)
	e.login()
	if out := e.h.Command(alice, "start-chat "+string(aliceLID)+" "+bobSIP); !strings.Contains(out, "Created a chat with `lync."+bobSIP+"`") {
		t.Fatalf("start-chat said %q", out)
	}
	room := e.dmRoom(bobSIP)
	for _, text := range []string{"one", "two", "three"} {
		e.sendMatrix(room, text)
	}
	got := e.received(bobSIP, 3)
	var texts []string
	for _, m := range got {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, ",") != "one,two,three" {
		t.Fatalf("bob received %q, want one,two,three in order", texts)
	}
	// Bob answers in the same conversation and it lands in the same room.
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "got them"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "got them")
}

func TestDeliveryFailureShowsReason(t *testing.T) {
	e := newEnv(t)
	e.login()
	if err := e.emu.Peer(bobSIP).SetPolicy(ucwaemu.PolicyDecline); err != nil {
		t.Fatal(err)
	}
	e.h.Command(alice, "start-chat "+string(aliceLID)+" "+bobSIP)
	room := e.dmRoom(bobSIP)
	evt := e.sendMatrix(room, "are you there?")
	st := e.status(evt)
	if st.Status == event.MessageStatusSuccess || !strings.Contains(st.Message, "declined") {
		t.Fatalf("status = %+v, want a failure saying the chat was declined", st)
	}
	if err := e.emu.Peer(bobSIP).SetPolicy(ucwaemu.PolicyTimeout); err != nil {
		t.Fatal(err)
	}
	evt = e.sendMatrix(room, "hello?")
	if st = e.status(evt); st.Status == event.MessageStatusSuccess || !strings.Contains(st.Message, "did not answer") {
		t.Fatalf("status = %+v, want a failure saying bob did not answer", st)
	}
}

func TestTypingBothWays(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	thread, err := bob.SendIM(aliceSIP, "typing test")
	if err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "typing test")
	// The message is bridged from the invitation; typing needs alice to
	// have joined the conversation.
	e.h.WaitFor("alice to join bob's conversation", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && len(info.Members) == 2
	})
	if err = bob.Typing(thread, true); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("bob's ghost typing", func() bool {
		for _, ty := range e.h.Matrix.Typing() {
			if ty.RoomID == room && ty.UserID == e.ghost(bobSIP) && ty.Typing {
				return true
			}
		}
		return false
	})
	before := e.emu.TypingCount(aliceSIP)
	e.h.SendMatrix(room, alice, event.EphemeralEventTyping, &event.TypingEventContent{UserIDs: []id.UserID{alice}})
	e.h.WaitFor("alice's typing to reach Lync", func() bool { return e.emu.TypingCount(aliceSIP) > before })
}

func TestMediaBecomesANotice(t *testing.T) {
	e := newEnv(t)
	e.login()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "send me the file"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "send me the file")
	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgFile, Body: "report.pdf", FileName: "report.pdf", URL: "mxc://test/abc",
		Info: &event.FileInfo{Size: 2048, MimeType: "application/pdf"},
	})
	got := e.received(bobSIP, 1)
	if !strings.Contains(got[0].Text, "report.pdf") || !strings.Contains(got[0].Text, "cannot carry files") {
		t.Fatalf("bob received %q for a file", got[0].Text)
	}
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("file notice status = %+v", st)
	}
}
