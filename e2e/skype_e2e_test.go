//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// skypeEmu is the Skype web API emulator the bridge's network.skype points
// at; it runs in the test process for the whole package run.
var skypeEmu *skypeemu.Emulator

func init() { setupHooks = append(setupHooks, startSkypeEmulator) }

// startSkypeEmulator serves the Skype emulator on a loopback port and
// points every host of the bridge's network.skype section at it. Backfill
// (which brings a Skype chat's history into a new portal) is turned on by
// the Teams set-up hook for the whole bridge.
func startSkypeEmulator(context.Context) (func(*bridgeproc.Config) error, func(), error) {
	emu := skypeemu.New(skypeemu.Options{PollHold: 5 * time.Second})
	emu.Start()
	skypeEmu = emu
	u := emu.URL()
	edit := func(cfg *bridgeproc.Config) error {
		settings := map[string]any{"network.skype.enabled": true, "network.skype.allow_insecure_http": true, "network.skype.allow_private_addresses": true, "network.skype.read_receipt_poll": "1s",
			"backfill.enabled": true, "backfill.max_initial_messages": 50, "backfill.max_catchup_messages": 50}
		for _, k := range []string{"login_live_url", "edge_url", "login_skype_url", "api_url", "contacts_url", "profile_url", "msgs_host", "asm_url"} {
			settings["network.skype."+k] = u
		}
		for k, v := range settings {
			if err := cfg.Set(k, v); err != nil {
				return err
			}
		}
		return nil
	}
	return edit, emu.Close, nil
}

// skypeGhost is the Matrix ID of the ghost of a Skype user.
func skypeGhost(name string) id.UserID {
	return id.NewUserID("imbridge_skype.8=3a"+strings.ReplaceAll(name, ":", "=3a"), env.Synapse.ServerName)
}

// TestSkypeConversation drives a Skype account through the real bridge
// against the emulator: login through the bot in an encrypted DM; a group
// chat and a DM with history from before the login opening as encrypted
// portals with that history; a live DM both ways; a long poll whose answer
// is lost, an event whose ack is lost, a lost endpoint (729) and a lost
// subscription (450), each with messages sent meanwhile arriving exactly
// once, in order; and a SIGKILL of the bridge mid-stream, after which
// nothing is lost or doubled either way.
func TestSkypeConversation(t *testing.T) {
	requireEnv(t)
	if skypeEmu == nil {
		t.Fatal("the Skype emulator was not started by the set-up hook")
	}
	emu := skypeEmu
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	me := skypeAccount(t, "live:carol", "Carol Example")
	bob := skypeAccount(t, "bob.", "Bob Example")
	dave := skypeAccount(t, "dave.", "Dave Example")
	emu.AddContact(me.Name, bob.Name)
	bobGhost, daveGhost := skypeGhost(bob.Name), skypeGhost(dave.Name)

	// History from before the login: a group and a DM.
	group := emu.CreateGroup(bob.Name, "Launch plan", me.Name, dave.Name)
	groupHistory := []string{"Kick-off is Monday.", "I'll book the room.", "Agenda to follow."}
	emu.Send(bob.Name, group, groupHistory[0])
	emu.Send(dave.Name, group, groupHistory[1])
	emu.Send(bob.Name, group, groupHistory[2])
	dmHistory := []string{"Hi Carol, are you on Skype now?", "Ping me when you are."}
	for _, text := range dmHistory {
		emu.Send(bob.Name, me.Name, text)
	}

	user := newUser(t, ctx, "skype")
	mgmt := openManagementRoom(t, ctx, user)
	inviteMark := user.InviteMark()
	skypeLogin(t, ctx, user, mgmt, me)

	// Both chats open as portals with their history, once each, in order.
	groupRoom := joinChatPortal(t, ctx, user, inviteMark, mgmt, bobGhost, false, skypeStepTimeout)
	portal := joinChatPortal(t, ctx, user, inviteMark, mgmt, bobGhost, true, skypeStepTimeout)
	waitGhostMessage(t, ctx, user, groupRoom, bobGhost, 0, groupHistory[2], "the group chat's history")
	checkOnceInOrder(t, user, groupRoom, bobGhost, 0, []string{groupHistory[0], groupHistory[2]}, "group history")
	if n := countGhostMessages(user, groupRoom, daveGhost, 0, groupHistory[1]); n != 1 {
		t.Errorf("the group portal has dave's history message %d times, want once", n)
	}
	var name event.RoomNameEventContent
	if err := user.Client.StateEvent(ctx, groupRoom, event.StateRoomName, "", &name); err != nil || name.Name != "Launch plan" {
		t.Errorf("the group portal is named %q (%v), want the chat's topic %q", name.Name, err, "Launch plan")
	}
	waitGhostMessage(t, ctx, user, portal, bobGhost, 0, dmHistory[1], "the DM's history")
	checkOnceInOrder(t, user, portal, bobGhost, 0, dmHistory, "DM history")
	checkGhostName(t, ctx, user, portal, bobGhost, bob.Display)

	// Live, both ways.
	mark := user.Mark()
	text1 := "Lunch today? [1]"
	emu.Send(bob.Name, me.Name, text1)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text1, "bob's live message")
	reply1 := "Sure, 12:30. [r1]"
	sendAndAwaitSkypeIn(t, ctx, user, portal, me, bob.Name, reply1)
	gmark := user.Mark()
	live := "Room 4 is booked. [g1]"
	emu.Send(dave.Name, group, live)
	waitGhostMessage(t, ctx, user, groupRoom, daveGhost, gmark, live, "dave's live group message")
	groupReply := "Thanks both! [g-r1]"
	sendAndAwaitSkypeIn(t, ctx, user, groupRoom, me, group, groupReply)

	all := []string{text1}
	var mine []string
	// Each fault in turn: bob sends a burst, the user answers while the
	// bridge recovers, bob sends once more after it.
	faults := []struct {
		name   string
		inject func()
		check  func(before skypeemu.EndpointStats) bool
	}{
		{"a long poll whose answer is lost", func() { emu.DropNextPolls(me.Name, 1) },
			func(before skypeemu.EndpointStats) bool { return skypeEmu.Endpoints(me.Name).Polls > before.Polls+1 }},
		{"a lost endpoint (729)", func() { emu.DropEndpoints(me.Name) },
			func(before skypeemu.EndpointStats) bool {
				return skypeEmu.Endpoints(me.Name).Registrations > before.Registrations
			}},
		{"an event whose ack is lost (delivered twice)", func() { emu.LoseNextAcks(me.Name, 2) },
			func(before skypeemu.EndpointStats) bool { return skypeEmu.Endpoints(me.Name).Polls > before.Polls+1 }},
		{"a lost subscription (450)", func() { emu.DropSubscriptions(me.Name) },
			func(before skypeemu.EndpointStats) bool {
				st := skypeEmu.Endpoints(me.Name)
				return st.Subscribed > 0 && st.Polls > before.Polls
			}},
	}
	for i, f := range faults {
		tag := string(rune('a' + i))
		before := emu.Endpoints(me.Name)
		f.inject()
		burst := []string{"Did you get this? [" + tag + "1]", "And this? [" + tag + "2]", "One more. [" + tag + "3]"}
		for _, text := range burst {
			emu.Send(bob.Name, me.Name, text)
		}
		whileDown := "Yes, all of them. [r-" + tag + "]"
		sendAndAwaitSkypeIn(t, ctx, user, portal, me, bob.Name, whileDown)
		for _, text := range burst {
			waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text, "a message sent around "+f.name)
		}
		if !waitSkypeCond(func() bool { return f.check(before) }) {
			t.Errorf("after %s the bridge did not recover as expected: endpoints before %+v, now %+v", f.name, before, emu.Endpoints(me.Name))
		}
		after := "Back to normal? [" + tag + "4]"
		emu.Send(bob.Name, me.Name, after)
		waitGhostMessage(t, ctx, user, portal, bobGhost, mark, after, "a message after "+f.name)
		all = append(append(all, burst...), after)
		mine = append(mine, whileDown)
		checkOnceInOrder(t, user, portal, bobGhost, mark, all, "around "+f.name)
	}

	// kill -9 mid-stream: a burst from bob and a message from the user are
	// in flight when the bridge dies (nothing waits for them), and bob keeps
	// sending while it is down.
	stream := []string{"Status: step 1 [k1]", "Status: step 2 [k2]", "Status: step 3 [k3]"}
	for _, text := range stream {
		emu.Send(bob.Name, me.Name, text)
	}
	inflight := "On my way. [r-kill]"
	if _, err := user.SendText(ctx, portal, inflight); err != nil {
		t.Fatal(err)
	}
	if err := env.Bridge.Kill(); err != nil {
		t.Fatalf("kill bridge: %v", err)
	}
	down := []string{"Status: step 4 (bridge down) [k4]", "Status: step 5 (bridge down) [k5]"}
	for _, text := range down {
		emu.Send(bob.Name, me.Name, text)
	}
	downGroup := "Anyone? (bridge down) [g2]"
	emu.Send(dave.Name, group, downGroup)
	stream = append(stream, down...)
	if err := env.Bridge.Start(ctx); err != nil {
		t.Fatalf("restart bridge after kill: %v", err)
	}
	for _, text := range stream {
		waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text, "a message around the kill")
	}
	waitGhostMessage(t, ctx, user, groupRoom, daveGhost, gmark, downGroup, "dave's group message sent while the bridge was down")
	text3 := "Done. [k6]"
	emu.Send(bob.Name, me.Name, text3)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text3, "bob's message after the restart")
	all = append(append(all, stream...), text3)
	checkOnceInOrder(t, user, portal, bobGhost, mark, all, "around the kill")
	reply2 := "Great, thanks. [r2]"
	sendAndAwaitSkypeIn(t, ctx, user, portal, me, bob.Name, reply2)
	if !waitSkypeCond(func() bool { return countSkypeIn(me.Name, bob.Name, me.MRI(), inflight) > 0 }) {
		t.Errorf("the user's message sent just before the kill never reached Skype: %s", describeSkype(me.Name, bob.Name))
	}
	for _, text := range append(append([]string{reply1}, mine...), inflight, reply2) {
		if n := countSkypeIn(me.Name, bob.Name, me.MRI(), text); n != 1 {
			t.Errorf("Skype has %q %d times from %s, want exactly once", text, n, me.Name)
		}
	}
	if n := countSkypeIn(me.Name, group, me.MRI(), groupReply); n != 1 {
		t.Errorf("Skype has the group reply %d times, want once", n)
	}
	for _, text := range []string{live, downGroup} {
		if n := countGhostMessages(user, groupRoom, daveGhost, gmark, text); n != 1 {
			t.Errorf("the group portal has %q %d times, want once", text, n)
		}
	}
	// Nothing the user sent came back as a message from their own ghost.
	meGhost := skypeGhost(me.Name)
	for _, room := range []id.RoomID{portal, groupRoom} {
		for _, r := range user.Messages(room, 0) {
			if r.Event.Sender == meGhost {
				t.Errorf("an echo of the user's message came back as %q from their ghost", r.Event.Content.AsMessage().Body)
			}
		}
	}
}
