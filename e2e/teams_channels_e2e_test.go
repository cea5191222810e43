//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// TestTeamsChannelsAndMeetingChat checks the Teams kinds of rooms beyond
// chats: a team with a channel appears as a Matrix space holding the
// channel's room; a channel reply chain is a Matrix thread under its root
// post, and the user's reply in that Matrix thread goes back into the reply
// chain (a new post without a thread is a new root); the General channel
// (the team's root thread) is a room in the same space; a meeting chat is a
// room named after the meeting, both ways, in the user's Meetings space.
func TestTeamsChannelsAndMeetingChat(t *testing.T) {
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
	me := teamsAccount(t, false, "hana", "Hana Hill")
	bob := teamsAccount(t, false, "bob", "Bob Brown")
	carol := teamsAccount(t, false, "carol", "Carol Clark")
	bobGhost, carolGhost := teamsGhost(bob.MRI), teamsGhost(carol.MRI)

	user := newUser(t, ctx, "teamschan")
	mgmt := openManagementRoom(t, ctx, user)
	teamsLogin(t, ctx, user, mgmt, me, "work")

	// A team with a channel: the first post opens the channel's room, and
	// the team becomes a space holding it.
	inviteMark, mark := user.InviteMark(), user.Mark()
	teamName := "Rocket " + strings.ToUpper(me.MRI[len(me.MRI)-4:])
	team := emu.CreateTeam(bob.MRI, teamName, []string{"Launch"}, me.MRI, carol.MRI)
	launch := team.Channels[1]
	rootText := "T-minus 10 [c0]"
	root := emu.SendText(bob.MRI, launch, rootText)
	channel := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, bobGhost, false)
	rootEvt := waitGhost(t, ctx, user, channel, bobGhost, mark, "the channel's root post", func(c *event.MessageEventContent) bool {
		return c.Body == rootText
	}).Event.ID
	var name event.RoomNameEventContent
	if err := user.Client.StateEvent(ctx, channel, event.StateRoomName, "", &name); err != nil || name.Name != "Launch" {
		t.Errorf("the channel room is named %q (%v), want the channel's name %q", name.Name, err, "Launch")
	}
	space := waitTeamSpace(t, ctx, user, inviteMark, channel)
	if err := user.Client.StateEvent(ctx, space, event.StateRoomName, "", &name); err != nil || name.Name != teamName {
		t.Errorf("the team's space is named %q (%v), want %q", name.Name, err, teamName)
	}

	// Teams → Matrix: a reply in the root's chain is in its Matrix thread.
	chainText := "All systems go. [c1]"
	emu.SendText(carol.MRI, launch+";messageid="+root, chainText)
	chained := waitGhost(t, ctx, user, channel, carolGhost, mark, "carol's reply in the chain", func(c *event.MessageEventContent) bool {
		return c.Body == chainText
	})
	if rel := chained.Event.Content.AsMessage().RelatesTo; rel == nil || rel.Type != event.RelThread || rel.EventID != rootEvt {
		t.Errorf("the chain reply relates %+v, want an m.thread under the root post %s", rel, rootEvt)
	}

	// Matrix → Teams: the user's reply in the Matrix thread joins the
	// chain; a post outside any thread starts a new one.
	threadReply := "Go for launch. [c-r1]"
	if _, err := user.SendMessageEvent(ctx, channel, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: threadReply,
		RelatesTo: (&event.RelatesTo{}).SetThread(rootEvt, chained.Event.ID)}); err != nil {
		t.Fatalf("send the thread reply: %v", err)
	}
	sent := waitTeams(t, launch, "the user's thread reply", func(m teamsemu.Message) bool {
		return m.From == me.MRI && teamsPlain(m.Content) == threadReply
	})
	if sent.Root != root {
		t.Errorf("the thread reply went into chain %q, want the root post's chain %s", sent.Root, root)
	}
	newPost := "New topic: the landing. [c-r2]"
	postEvt, err := user.SendText(ctx, channel, newPost)
	if err != nil {
		t.Fatal(err)
	}
	post := waitTeams(t, launch, "the user's new post", func(m teamsemu.Message) bool {
		return m.From == me.MRI && teamsPlain(m.Content) == newPost
	})
	if post.Root != "" {
		t.Errorf("a post outside any Matrix thread went into chain %s, want a new root post", post.Root)
	}
	// A reply to the user's own post comes back into its Matrix thread.
	answer := "Landing is on Friday. [c2]"
	emu.SendText(bob.MRI, launch+";messageid="+post.ID, answer)
	answered := waitGhost(t, ctx, user, channel, bobGhost, mark, "bob's reply to the user's post", func(c *event.MessageEventContent) bool {
		return c.Body == answer
	})
	if rel := answered.Event.Content.AsMessage().RelatesTo; rel == nil || rel.Type != event.RelThread || rel.EventID != postEvt {
		t.Errorf("bob's reply relates %+v, want an m.thread under the user's post %s", rel, postEvt)
	}
	for _, text := range []string{threadReply, newPost} {
		if n := countTeamsSent(launch, me, text); n != 1 {
			t.Errorf("the channel has %q %d times from the user, want once", text, n)
		}
	}

	// The General channel is the team's root thread: its posts open an
	// ordinary room named General in the same space.
	inviteMark = user.InviteMark()
	general := team.Channels[0]
	welcome := "Welcome to the team! [c3]"
	emu.SendText(bob.MRI, general, welcome)
	generalRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, bobGhost, false)
	waitGhostMessage(t, ctx, user, generalRoom, bobGhost, mark, welcome, "the General channel's post")
	if err := user.Client.StateEvent(ctx, generalRoom, event.StateRoomName, "", &name); err != nil || name.Name != "General" {
		t.Errorf("the General channel's room is named %q (%v), want General", name.Name, err)
	}
	waitSpaceLink(t, ctx, user, space, generalRoom)
	sendAndAwaitTeams(t, ctx, user, generalRoom, general, me, "Thanks, happy to be here. [c-r3]")

	// A meeting chat is a room named after the meeting.
	inviteMark = user.InviteMark()
	subject := "Weekly sync " + strings.ToUpper(me.MRI[len(me.MRI)-4:])
	meeting := emu.CreateMeetingChat(carol.MRI, subject, me.MRI, bob.MRI)
	agenda := "Agenda: budget, hiring. [m1]"
	emu.SendText(carol.MRI, meeting, agenda)
	meetingRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, carolGhost, false)
	waitGhostMessage(t, ctx, user, meetingRoom, carolGhost, mark, agenda, "the meeting chat's first message")
	if err := user.Client.StateEvent(ctx, meetingRoom, event.StateRoomName, "", &name); err != nil || name.Name != subject {
		t.Errorf("the meeting chat room is named %q (%v), want the meeting's subject %q", name.Name, err, subject)
	}
	if err := user.WaitForMembership(ctx, meetingRoom, bobGhost, event.MembershipJoin); err != nil {
		t.Errorf("bob, invited to the meeting, is not in its room: %v", err)
	}
	sendAndAwaitTeams(t, ctx, user, meetingRoom, meeting, me, "I'll take notes. [m-r1]")
	// Meeting chats are grouped in the user's own Meetings space.
	meetings := waitTeamSpace(t, ctx, user, inviteMark, meetingRoom)
	if err := user.Client.StateEvent(ctx, meetings, event.StateRoomName, "", &name); err != nil || name.Name != "Meetings" {
		t.Errorf("the meeting chat's space is named %q (%v), want Meetings", name.Name, err)
	}
	if meetings == space {
		t.Error("the meeting chat was put in the team's space")
	}
}

// waitTeamSpace waits for the invitation to the team's space, joins it and
// waits until it and the channel's room point at each other.
func waitTeamSpace(t *testing.T, ctx context.Context, cli *mxclient.Client, inviteMark int, channel id.RoomID) id.RoomID {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	inv, err := cli.WaitForInvite(wctx, inviteMark, func(inv mxclient.Invite) bool { return inv.RoomType == "m.space" })
	if err != nil {
		t.Fatalf("no invitation to the team's Matrix space: %v", err)
	}
	if err := cli.Join(wctx, inv.RoomID); err != nil {
		t.Fatalf("join the team's space: %v", err)
	}
	waitSpaceLink(t, ctx, cli, inv.RoomID, channel)
	return inv.RoomID
}

// waitSpaceLink waits until space lists room as a child and room names
// space as its parent (bridgev2 sends the two one after the other).
func waitSpaceLink(t *testing.T, ctx context.Context, cli *mxclient.Client, space, room id.RoomID) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var child event.SpaceChildEventContent
		var parent event.SpaceParentEventContent
		err := cli.Client.StateEvent(wctx, space, event.StateSpaceChild, room.String(), &child)
		if err == nil && len(child.Via) == 0 {
			err = fmt.Errorf("m.space.child has no via")
		}
		if err == nil {
			err = cli.Client.StateEvent(wctx, room, event.StateSpaceParent, space.String(), &parent)
		}
		if err == nil {
			return
		}
		select {
		case <-wctx.Done():
			t.Fatalf("the team's space %s and the room %s never pointed at each other (m.space.child, m.space.parent; last: %v)", space, room, err)
		case <-tick.C:
		}
	}
}
