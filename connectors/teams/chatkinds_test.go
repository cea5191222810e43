package teams

import (
	"fmt"
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// A meeting chat is a group room named after the meeting, with its
// invitees, and the user's answer goes back into it.
func TestMeetingChatIsANamedRoomBothWays(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	meeting := e.emu.CreateMeetingChat(e.carol.MRI, "Weekly sync", e.me.MRI, e.bob.MRI)
	if !strings.HasPrefix(meeting, "19:meeting_") {
		t.Fatalf("the emulator's meeting chat id %q is not a meeting id", meeting)
	}
	e.emu.SendText(e.carol.MRI, meeting, "agenda?")
	room := e.room(e.me, meeting)
	e.waitTexts(room, e.ghost(e.carol), "agenda?")
	r := e.h.Matrix.Room(room)
	if c := r.State["m.room.name|"]; c == nil || c.AsRoomName().Name != "Weekly sync" {
		t.Errorf("the meeting chat room is not named after the meeting: %+v", c)
	}
	if r.Request != nil && r.Request.IsDirect {
		t.Error("the meeting chat is a Matrix DM")
	}
	e.h.WaitFor("bob, invited to the meeting, in its room", func() bool {
		return e.h.Matrix.Room(room).Members[e.ghost(e.bob)] == event.MembershipJoin
	})
	evt := e.h.SendText(room, alice, "budget first")
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; m.Conversation != meeting || !strings.Contains(m.Content, "budget first") {
		t.Fatalf("the answer went to %s as %q, want the meeting chat", m.Conversation, m.Content)
	}
}

// Every formatting the issue names crosses the bridge both ways: bold,
// italics, strike, inline code, a code block, lists, a link and a quote.
func TestEveryFormattingBothWays(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.Send(e.bob.MRI, dm, `<p><b>bold</b> <i>italic</i> <s>strike</s> <code>inline()</code></p>`+
		`<codeblock class="Go"><code>x := 1</code></codeblock>`+
		`<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>`+
		`<p><a href="https://example.com/docs">the docs</a></p><blockquote>wise words</blockquote>`)
	room := e.room(e.me, dm)
	var got *event.MessageEventContent
	e.h.WaitFor("bob's formatted message", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); m.Sender == e.ghost(e.bob) && mc != nil {
				got = mc
				return true
			}
		}
		return false
	})
	for _, want := range []string{"<b>bold</b>", "<i>italic</i>", "<s>strike</s>", "<code>inline()</code>",
		`<pre><code class="language-go">x := 1</code></pre>`, "<ul><li>one</li><li>two</li></ul>", "<ol><li>first</li></ol>",
		`<a href="https://example.com/docs"`, "<blockquote>wise words</blockquote>"} {
		if !strings.Contains(got.FormattedBody, want) {
			t.Errorf("Teams → Matrix: %q is missing from %q", want, got.FormattedBody)
		}
	}
	if got.Format != event.FormatHTML || !strings.Contains(got.Body, "the docs") {
		t.Errorf("Teams → Matrix: format %q, body %q", got.Format, got.Body)
	}

	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "formatted",
		Format: event.FormatHTML, FormattedBody: `<strong>bold</strong> <em>italic</em> <del>strike</del> <code>inline()</code>` +
			`<pre><code class="language-go">y := 2</code></pre><ul><li>one</li></ul><ol><li>first</li></ol>` +
			`<a href="https://example.com/docs">the docs</a><blockquote>wise words</blockquote>`})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	sent := e.sentBy(e.me, 1)[0]
	for _, want := range []string{"<strong>bold</strong>", "<em>italic</em>", "<s>strike</s>", "<code>inline()</code>",
		"<pre>y := 2</pre>", "<ul><li>one</li></ul>", "<ol><li>first</li></ol>", `<a href="https://example.com/docs">the docs</a>`,
		"<blockquote>wise words</blockquote>"} {
		if !strings.Contains(sent.Content, want) {
			t.Errorf("Matrix → Teams: %q is missing from %q", want, sent.Content)
		}
	}
	if sent.MessageType != "RichText/Html" {
		t.Errorf("Matrix → Teams: message type %q, want RichText/Html", sent.MessageType)
	}
}

// A channel's reply chain stays a Matrix thread whichever way it reaches
// Matrix: backfilled on first login, and caught up after downtime.
func TestChannelReplyChainsAreThreadsInBackfillAndCatchUp(t *testing.T) {
	e := newEnv(t, withBackfill())
	team := e.emu.CreateTeam(e.bob.MRI, "Contoso Rocket", []string{"Launch"}, e.me.MRI, e.carol.MRI)
	launch := team.Channels[1]
	root := e.emu.SendText(e.bob.MRI, launch, "countdown starts")
	e.emu.SendText(e.carol.MRI, launch+";messageid="+root, "backfilled reply")
	e.login(e.me)
	room := e.room(e.me, launch)
	e.waitTexts(room, e.ghost(e.carol), "backfilled reply")
	rootEvt := e.eventFor(room, root)
	e.checkInThread(room, "backfilled reply", rootEvt)

	db := e.h.DBPath
	e.h.Stop()
	e.emu.SendText(e.bob.MRI, launch+";messageid="+root, "reply while away")
	e.emu.SendText(e.carol.MRI, launch, "new post while away")
	e.start(db)
	e.connected(e.me)
	e.waitTexts(room, e.ghost(e.bob), "countdown starts", "reply while away")
	e.waitTexts(room, e.ghost(e.carol), "backfilled reply", "new post while away")
	e.checkInThread(room, "reply while away", rootEvt)
	e.checkInThread(room, "new post while away", "")
}

// checkInThread checks that the message with body text is in root's Matrix
// thread (root "": in no thread).
func (e *env) checkInThread(room id.RoomID, text string, root id.EventID) {
	e.t.Helper()
	for _, m := range e.h.Matrix.Messages(room) {
		mc := m.Message()
		if mc == nil || mc.Body != text {
			continue
		}
		var got id.EventID
		if mc.RelatesTo != nil && mc.RelatesTo.Type == event.RelThread {
			got = mc.RelatesTo.EventID
		}
		if got != root {
			e.t.Errorf("%q is in thread %q, want %q (relates %+v)", text, got, root, mc.RelatesTo)
		}
		return
	}
	e.t.Errorf("%q is not in the room", text)
}

// A team's root thread is its General channel: General's posts open a
// channel room named General (not a space), in the team's Matrix space,
// with reply chains as threads both ways; the space is named after the team.
func TestGeneralChannelIsARoomInTheTeamSpace(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	team := e.emu.CreateTeam(e.bob.MRI, "Contoso Rocket", nil, e.me.MRI, e.carol.MRI)
	general := team.Channels[0]
	if general != team.ID {
		t.Fatalf("the emulator's General channel %s is not the team's root thread %s", general, team.ID)
	}
	root := e.emu.SendText(e.bob.MRI, general, "welcome to the team")
	room := e.room(e.me, general)
	e.waitTexts(room, e.ghost(e.bob), "welcome to the team")
	r := e.h.Matrix.Room(room)
	if typ := r.Request.CreationContent["type"]; typ != nil {
		t.Errorf("General's room was created as a %v, want an ordinary room", typ)
	}
	if c := r.State["m.room.name|"]; c == nil || c.AsRoomName().Name != "General" {
		t.Errorf("General's room is not named General: %+v", c)
	}
	space := e.h.PortalRoom(networkid.PortalKey{ID: teamSpaceID(team.ID)})
	e.h.WaitFor("General in the team's space", func() bool {
		sr := e.h.Matrix.Room(space)
		return sr != nil && sr.State["m.space.child|"+string(room)] != nil
	})
	sr := e.h.Matrix.Room(space)
	if typ := fmt.Sprint(sr.Request.CreationContent["type"]); typ != "m.space" {
		t.Errorf("the team's room is a %v, want m.space", typ)
	}
	if c := sr.State["m.room.name|"]; c == nil || c.AsRoomName().Name != "Contoso Rocket" {
		t.Errorf("the team's space is not named after the team: %+v", c)
	}

	e.emu.SendText(e.carol.MRI, general+";messageid="+root, "glad to be here")
	e.waitTexts(room, e.ghost(e.carol), "glad to be here")
	rootEvt := e.eventFor(room, root)
	e.checkInThread(room, "glad to be here", rootEvt)
	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "hello all",
		RelatesTo: (&event.RelatesTo{}).SetThread(rootEvt, rootEvt)})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; m.Conversation != general || m.Root != root {
		t.Fatalf("sent into %s (chain %s), want General %s chain %s", m.Conversation, m.Root, general, root)
	}

	// Renaming the team renames the space; General stays General.
	e.emu.SetTopic(e.bob.MRI, team.ID, "Contoso Rockets")
	e.h.WaitFor("the space renamed with the team", func() bool {
		c := e.h.Matrix.Room(space).State["m.room.name|"]
		return c != nil && c.AsRoomName().Name == "Contoso Rockets"
	})
	if c := e.h.Matrix.Room(room).State["m.room.name|"]; c == nil || c.AsRoomName().Name != "General" {
		t.Errorf("General's room was renamed with the team: %+v", c)
	}
}

// Team threads without a topic take their names from the team directory:
// a channel is never named after its members.
func TestUntitledChannelsAreNamedFromTheTeamDirectory(t *testing.T) {
	e := newEnv(t, func(_ *env, o *teamsemu.Options) { o.UntitledChannels = true })
	e.login(e.me)
	team := e.emu.CreateTeam(e.bob.MRI, "Contoso Rocket", []string{"Launch"}, e.me.MRI)
	launch := team.Channels[1]
	e.emu.SendText(e.bob.MRI, launch, "T-minus 10")
	room := e.room(e.me, launch)
	e.waitTexts(room, e.ghost(e.bob), "T-minus 10")
	if c := e.h.Matrix.Room(room).State["m.room.name|"]; c == nil || c.AsRoomName().Name != "Launch" {
		t.Errorf("the untitled channel is not named from the directory: %+v", c)
	}
	space := e.h.PortalRoom(networkid.PortalKey{ID: teamSpaceID(team.ID)})
	e.h.WaitFor("the team's space named from the directory", func() bool {
		c := e.h.Matrix.Room(space).State["m.room.name|"]
		return c != nil && c.AsRoomName().Name == "Contoso Rocket"
	})
}

// A meeting chat whose thread carries only the meeting's subject
// (threadProperties.meeting) and no topic is still named after the meeting.
func TestMeetingChatWithoutTopicIsNamedAfterItsSubject(t *testing.T) {
	e := newEnv(t, func(_ *env, o *teamsemu.Options) { o.MeetingSubjectOnly = true })
	e.login(e.me)
	meeting := e.emu.CreateMeetingChat(e.carol.MRI, "Quarterly review", e.me.MRI, e.bob.MRI)
	e.emu.SendText(e.carol.MRI, meeting, "slides are up")
	room := e.room(e.me, meeting)
	e.waitTexts(room, e.ghost(e.carol), "slides are up")
	if c := e.h.Matrix.Room(room).State["m.room.name|"]; c == nil || c.AsRoomName().Name != "Quarterly review" {
		t.Errorf("the meeting chat is not named after its subject: %+v", c)
	}
}

// Meeting chats are grouped in the user's own "Meetings" space, as
// mautrix-teams groups them: every calendar meeting leaves a chat, and they
// would crowd the chat list. Other group chats stay outside it.
func TestMeetingChatsAreGroupedInAMeetingsSpace(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	meeting := e.emu.CreateMeetingChat(e.carol.MRI, "Planning", e.me.MRI, e.bob.MRI)
	e.emu.SendText(e.carol.MRI, meeting, "see you there")
	room := e.room(e.me, meeting)
	e.waitTexts(room, e.ghost(e.carol), "see you there")
	group := e.emu.CreateGroup(e.bob.MRI, "Not a meeting", e.me.MRI, e.carol.MRI)
	e.emu.SendText(e.bob.MRI, group, "plain group")
	groupRoom := e.room(e.me, group)
	e.waitTexts(groupRoom, e.ghost(e.bob), "plain group")

	space := e.h.PortalRoom(networkid.PortalKey{ID: meetingsSpaceID(e.me.MRI)})
	e.h.WaitFor("the meeting chat in the Meetings space", func() bool {
		sr := e.h.Matrix.Room(space)
		return sr != nil && sr.State["m.space.child|"+string(room)] != nil
	})
	sr := e.h.Matrix.Room(space)
	if typ := fmt.Sprint(sr.Request.CreationContent["type"]); typ != "m.space" {
		t.Errorf("the Meetings room is a %v, want m.space", typ)
	}
	if c := sr.State["m.room.name|"]; c == nil || c.AsRoomName().Name != "Meetings" {
		t.Errorf("the Meetings space is not named Meetings: %+v", c)
	}
	if m := sr.Members[alice]; m != event.MembershipInvite && m != event.MembershipJoin {
		t.Errorf("the user is not in their Meetings space (%q)", m)
	}
	if sr.State["m.space.child|"+string(groupRoom)] != nil {
		t.Error("an ordinary group chat was put in the Meetings space")
	}
}
