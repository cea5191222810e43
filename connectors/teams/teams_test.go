package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

func TestDeviceCodeLoginAndIncomingDM(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hello alice")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hello alice")
	e.h.WaitFor("bob's ghost to be named", func() bool {
		p := e.h.Matrix.Profile(e.ghost(e.bob))
		return p != nil && p.DisplayName == "Bob Brown"
	})
	r := e.h.Matrix.Room(room)
	if r == nil || r.Request == nil || !r.Request.IsDirect {
		t.Fatalf("the 1:1 chat is not a Matrix DM: %+v", r)
	}
	// Element shows a DM only when the user's own invite says is_direct.
	if invite := r.State[event.StateMember.Type+"|"+string(alice)]; invite == nil || invite.Raw["is_direct"] != true {
		t.Fatalf("alice's invite to the DM is not marked is_direct: %+v", invite)
	}
}

func TestDeviceCodeLoginExpiredCodeSaysSo(t *testing.T) {
	e := newEnv(t)
	e.h.CommandPrompt(alice, "login teams", "Account type")
	go func() {
		if e.emu.WaitFor(bridgetest.DefaultWait, func() bool {
			codes := e.emu.PendingDeviceCodes()
			return len(codes) > 0 && e.emu.DeviceCodePolls(codes[0]) > 0
		}) {
			e.emu.Advance(time.Hour)
		}
	}()
	e.h.CommandExpect(alice, "work", "expired")
}

func TestOutgoingTextEchoNotDoubled(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "ping")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "ping")

	evt := e.h.SendText(room, alice, "pong <b>not bold</b>")
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	sent := e.sentBy(e.me, 1)
	if sent[0].Conversation != dm || !strings.Contains(sent[0].Content, "pong &lt;b&gt;not bold&lt;/b&gt;") || sent[0].ClientMessageID == "" {
		t.Fatalf("Teams got %+v", sent[0])
	}
	// The echo came back over Trouter; a later message proves it was handled.
	e.emu.SendText(e.bob.MRI, dm, "after")
	e.waitTexts(room, e.ghost(e.bob), "ping", "after")
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender != alice && m.Message() != nil && strings.Contains(m.Message().Body, "pong") {
			t.Fatalf("the echo of alice's message was bridged back as %s's message", m.Sender)
		}
	}
}

func TestOtherDeviceMessageAppearsAsTheirs(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")
	e.emu.SendWith(e.me.MRI, dm, "<p>from my phone</p>", teamsemu.SendOptions{ClientMessageID: "4242424242"})
	e.h.WaitFor("alice's phone message in Matrix", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if m.Message() != nil && m.Message().Body == "from my phone" {
				return m.Sender == e.ghost(e.me) || m.Sender == alice
			}
		}
		return false
	})
}

func TestFormattingAndMentionsIncoming(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	group := e.emu.CreateGroup(e.bob.MRI, "Plans", e.me.MRI, e.carol.MRI)
	e.emu.SendWith(e.bob.MRI, group, `<p><b>bold</b> and <span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Alice</span> <script>alert(1)</script></p>`,
		teamsemu.SendOptions{Mentions: []string{e.me.MRI}})
	room := e.room(e.me, group)
	var msg *event.MessageEventContent
	e.h.WaitFor("bob's formatted message", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if m.Sender == e.ghost(e.bob) {
				msg = m.Message()
				return true
			}
		}
		return false
	})
	if !strings.Contains(msg.FormattedBody, "<b>bold</b>") && !strings.Contains(msg.FormattedBody, "<strong>bold</strong>") {
		t.Errorf("formatting lost: %q", msg.FormattedBody)
	}
	if strings.Contains(msg.FormattedBody, "script") || strings.Contains(msg.Body, "alert") {
		t.Errorf("script reached Matrix: %q / %q", msg.FormattedBody, msg.Body)
	}
	if !strings.Contains(msg.FormattedBody, "https://matrix.to/#/"+string(alice)) {
		t.Errorf("the mention of alice is not a pill to her: %q", msg.FormattedBody)
	}
	if msg.Mentions == nil || len(msg.Mentions.UserIDs) != 1 || msg.Mentions.UserIDs[0] != alice {
		t.Errorf("m.mentions = %+v, want alice", msg.Mentions)
	}
}

func TestMentionAndReplyOutgoing(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	group := e.emu.CreateGroup(e.bob.MRI, "Plans", e.me.MRI, e.carol.MRI)
	bobMsg := e.emu.SendText(e.bob.MRI, group, "question?")
	room := e.room(e.me, group)
	e.waitTexts(room, e.ghost(e.bob), "question?")
	target := e.eventFor(room, bobMsg)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "Bob Brown: yes", Format: event.FormatHTML,
		FormattedBody: `<a href="https://matrix.to/#/` + string(e.ghost(e.bob)) + `">Bob Brown</a>: <em>yes</em>`,
		RelatesTo:     (&event.RelatesTo{}).SetReplyTo(target)}
	evt := e.h.SendMatrix(room, alice, event.EventMessage, content)
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	m := e.sentBy(e.me, 1)[0]
	if !strings.Contains(m.Content, "http://schema.skype.com/Mention") || !strings.Contains(m.Content, "<em>yes</em>") {
		t.Errorf("content %q lacks the mention span or formatting", m.Content)
	}
	if !strings.Contains(m.Content, "http://schema.skype.com/Reply") || !strings.Contains(m.Content, bobMsg) {
		t.Errorf("content %q is not a reply to %s", m.Content, bobMsg)
	}
	raw, _ := json.Marshal(m.Properties["mentions"])
	if !strings.Contains(string(raw), e.bob.MRI) {
		t.Errorf("properties.mentions %s does not name bob", raw)
	}
}

func TestEditDeleteReactionIncoming(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	id1 := e.emu.SendText(e.bob.MRI, dm, "tpyo")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "tpyo")
	target := e.eventFor(room, id1)

	e.emu.Edit(dm, id1, "<p>typo</p>")
	e.h.WaitFor("the edit in Matrix", func() bool {
		for _, m := range e.h.Matrix.Messages(room) {
			if mc := m.Message(); mc != nil && mc.RelatesTo.GetReplaceID() == target && mc.NewContent != nil && mc.NewContent.Body == "typo" {
				return true
			}
		}
		return false
	})
	e.emu.React(e.bob.MRI, dm, id1, "like")
	var reactionID id.EventID
	e.h.WaitFor("bob's 👍 in Matrix", func() bool {
		for _, ev := range e.h.Matrix.Events(room) {
			if ev.Type == event.EventReaction && ev.Sender == e.ghost(e.bob) {
				rc := ev.Content.AsReaction()
				if rc.RelatesTo.EventID == target && strings.TrimSuffix(rc.RelatesTo.Key, "\ufe0f") == "👍" {
					reactionID = ev.ID
					return true
				}
			}
		}
		return false
	})
	e.emu.Unreact(e.bob.MRI, dm, id1, "like")
	e.waitRedaction(room, reactionID)
	e.emu.React(e.bob.MRI, dm, id1, "custom;0-wus-d4-abc")
	e.h.WaitFor("an unknown reaction kept as text", func() bool {
		for _, ev := range e.h.Matrix.Events(room) {
			if ev.Type == event.EventReaction && ev.Content.AsReaction().RelatesTo.Key == "custom;0-wus-d4-abc" {
				return true
			}
		}
		return false
	})
	e.emu.Delete(dm, id1)
	e.waitRedaction(room, target)
}

func (e *env) waitRedaction(room id.RoomID, target id.EventID) {
	e.t.Helper()
	e.h.WaitFor("a redaction of "+string(target), func() bool {
		for _, ev := range e.h.Matrix.Events(room) {
			if ev.Type == event.EventRedaction && ev.Content.AsRedaction().Redacts == target {
				return true
			}
		}
		return false
	})
}

func TestEditDeleteReactionOutgoing(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	bobMsg := e.emu.SendText(e.bob.MRI, dm, "lunch?")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "lunch?")
	evt := e.h.SendText(room, alice, "sure thing")
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	mine := e.sentBy(e.me, 1)[0]
	if parts, err := e.h.Bridge.DB.Message.GetAllPartsByID(context.Background(), e.loginID(e.me), ids.MessageID(ids.Teams, mine.ID)); err != nil || len(parts) != 1 {
		all, _ := e.h.Bridge.DB.Message.GetLastNInPortal(context.Background(), networkid.PortalKey{ID: ids.PortalID(ids.Teams, dm), Receiver: e.loginID(e.me)}, 10)
		for _, p := range all {
			t.Logf("row %s %s %s", p.ID, p.MXID, p.SenderID)
		}
		t.Fatalf("alice's message %s is stored %d times (%v)", mine.ID, len(parts), err)
	}

	e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "* sure",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "sure"},
		RelatesTo:  (&event.RelatesTo{}).SetReplace(evt)})
	e.waitEmu("alice's edit", func() bool {
		m := e.find(dm, mine.ID)
		return m != nil && m.Edited && strings.Contains(m.Content, "sure") && !strings.Contains(m.Content, "thing")
	})
	react := e.h.SendMatrix(room, alice, event.EventReaction, &event.ReactionEventContent{RelatesTo: event.RelatesTo{
		Type: event.RelAnnotation, EventID: e.eventFor(room, bobMsg), Key: "❤️"}})
	e.waitEmu("alice's heart on bob's message", func() bool {
		m := e.find(dm, bobMsg)
		return m != nil && len(m.Reactions["heart"]) == 1 && m.Reactions["heart"][0] == e.me.MRI
	})
	e.h.SendMatrix(room, alice, event.EventRedaction, &event.RedactionEventContent{Redacts: react})
	e.waitEmu("alice's heart removed", func() bool {
		m := e.find(dm, bobMsg)
		return m != nil && len(m.Reactions["heart"]) == 0
	})
	e.h.SendMatrix(room, alice, event.EventRedaction, &event.RedactionEventContent{Redacts: evt})
	e.waitEmu("alice's message deleted", func() bool {
		m := e.find(dm, mine.ID)
		return m != nil && m.Deleted
	})
	// Neither the edit's nor the deletion's echo may come back as new events
	// from alice's side.
	e.emu.SendText(e.bob.MRI, dm, "ok")
	e.waitTexts(room, e.ghost(e.bob), "lunch?", "ok")
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender == e.ghost(e.me) {
			t.Errorf("an echo came back as %q from alice's ghost", m.Message().Body)
		}
	}
}

func (e *env) find(conv, msgID string) *teamsemu.Message {
	for _, m := range e.emu.Messages(conv) {
		if m.ID == msgID {
			return &m
		}
	}
	return nil
}

func (e *env) waitEmu(what string, cond func() bool) {
	e.t.Helper()
	if !e.emu.WaitFor(bridgetest.DefaultWait, cond) {
		e.t.Fatalf("timed out waiting for %s on the Teams side", what)
	}
}

func TestTypingAndReadReceiptsBothWays(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	bobMsg := e.emu.SendText(e.bob.MRI, dm, "are you there")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "are you there")

	e.emu.Typing(e.bob.MRI, dm)
	e.h.WaitFor("bob typing in Matrix", func() bool {
		for _, ty := range e.h.Matrix.Typing() {
			if ty.RoomID == room && ty.UserID == e.ghost(e.bob) && ty.Typing {
				return true
			}
		}
		return false
	})
	e.h.SendMatrix(room, alice, event.EphemeralEventTyping, &event.TypingEventContent{UserIDs: []id.UserID{alice}})
	e.waitEmu("alice typing on Teams", func() bool {
		for _, ty := range e.emu.TypingEvents() {
			if ty.From == e.me.MRI && ty.Conversation == dm {
				return true
			}
		}
		return false
	})
	target := e.eventFor(room, bobMsg)
	e.h.SendMatrix(room, alice, event.EphemeralEventReceipt, &event.ReceiptEventContent{
		target: {event.ReceiptTypeRead: {alice: {Timestamp: time.Now()}}}})
	e.waitEmu("alice's consumption horizon", func() bool {
		return strings.HasPrefix(e.emu.Horizon(e.me.MRI, dm), bobMsg+";")
	})

	// Bob reads alice's reply: his ghost's read receipt points at it.
	evt := e.h.SendText(room, alice, "yes")
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	mine := e.sentBy(e.me, 1)[0]
	e.emu.Read(e.bob.MRI, dm, mine.ID)
	e.h.WaitFor("bob's read receipt on alice's reply", func() bool {
		for _, r := range e.h.Matrix.Receipts() {
			if r.RoomID == room && r.UserID == e.ghost(e.bob) && r.EventID == evt {
				return true
			}
		}
		return false
	})
}

func TestGroupChatTopicAndMembersSync(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	group := e.emu.CreateGroup(e.bob.MRI, "Plans", e.me.MRI)
	e.emu.SendText(e.bob.MRI, group, "welcome")
	room := e.room(e.me, group)
	e.waitTexts(room, e.ghost(e.bob), "welcome")
	if c := e.h.Matrix.Room(room).State["m.room.name|"]; c == nil || c.AsRoomName().Name != "Plans" {
		t.Fatalf("group room is not named Plans: %+v", c)
	}
	e.emu.SetTopic(e.bob.MRI, group, "Plans 2027")
	e.h.WaitFor("the new topic as room name", func() bool {
		r := e.h.Matrix.Room(room)
		c := r.State["m.room.name|"]
		return c != nil && c.AsRoomName().Name == "Plans 2027"
	})
	e.emu.AddMember(e.bob.MRI, group, e.carol.MRI)
	e.h.WaitFor("carol joined in Matrix", func() bool {
		return e.h.Matrix.Room(room).Members[e.ghost(e.carol)] == event.MembershipJoin
	})
	e.emu.RemoveMember(e.bob.MRI, group, e.carol.MRI)
	e.h.WaitFor("carol left in Matrix", func() bool {
		ms := e.h.Matrix.Room(room).Members[e.ghost(e.carol)]
		return ms == event.MembershipLeave || ms == event.MembershipBan
	})
}

func TestMessageLossNoticeCatchesUpOnceInOrder(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "one")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "one")
	e.emu.HoldDeliveries(e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "two")
	e.emu.SendText(e.bob.MRI, dm, "three")
	if n := e.emu.ReleaseWithLoss(e.me.MRI); n == 0 {
		t.Fatal("no delivery was held back")
	}
	e.waitTexts(room, e.ghost(e.bob), "one", "two", "three")
}

func TestSocketDropAndLostAcksNoLossNoDup(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "a")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "a")
	e.emu.LoseNextAck(e.me.MRI, 1)
	e.emu.SendText(e.bob.MRI, dm, "b")
	e.emu.DropTrouter(e.me.MRI, false)
	e.emu.SendText(e.bob.MRI, dm, "c")
	e.emu.SendText(e.bob.MRI, dm, "d")
	e.waitTexts(room, e.ghost(e.bob), "a", "b", "c", "d")
	// A later message proves nothing else was queued behind.
	e.emu.SendText(e.bob.MRI, dm, "e")
	e.waitTexts(room, e.ghost(e.bob), "a", "b", "c", "d", "e")
}

func TestRestartCatchesUpMissedMessagesOnce(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "before")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "before")
	db := e.h.DBPath
	e.h.Stop()
	e.emu.SendText(e.bob.MRI, dm, "while away 1")
	e.emu.SendText(e.bob.MRI, dm, "while away 2")
	e.start(db)
	e.connected(e.me)
	e.waitTexts(room, e.ghost(e.bob), "before", "while away 1", "while away 2")
	e.emu.SendText(e.bob.MRI, dm, "live")
	e.waitTexts(room, e.ghost(e.bob), "before", "while away 1", "while away 2", "live")
}

func TestRotatedRefreshTokenIsStored(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	grants := e.emu.TokenGrants(e.me.MRI)
	// Force new access tokens: the refresh token rotates, and the old one
	// dies (the emulator's strict rotation).
	e.emu.ExpireAccessTokens(e.me.MRI)
	e.emu.ExpireSkypeTokens(e.me.MRI)
	e.emu.DropTrouter(e.me.MRI, true)
	if !e.emu.WaitFor(bridgetest.DefaultWait, func() bool { return e.emu.TokenGrants(e.me.MRI) > grants }) {
		t.Fatal("the client did not refresh its tokens")
	}
	e.connected(e.me)
	e.restart()
	e.connected(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "still here?")
	e.waitTexts(e.room(e.me, dm), e.ghost(e.bob), "still here?")
}

func TestRevokedRefreshTokenIsBadCredentialsWithNotice(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	e.emu.RevokeRefreshTokens(e.me.MRI)
	e.emu.ExpireAccessTokens(e.me.MRI)
	e.emu.ExpireSkypeTokens(e.me.MRI)
	e.emu.DropTrouter(e.me.MRI, false)
	e.h.WaitFor("BAD_CREDENTIALS", func() bool { return e.client(e.me).LastState() == status.StateBadCredentials })
	e.h.WaitFor("a notice in the management room", func() bool {
		for _, r := range e.h.BotReplies(alice) {
			if strings.Contains(r, "login teams") && strings.Contains(r, "no longer accepts") {
				return true
			}
		}
		return false
	})
	grants := e.emu.TokenGrants(e.me.MRI)
	requests := len(e.emu.Requests("/oauth2/v2.0/token"))
	// No retry loop against the token endpoint: give it the time several
	// backoff rounds would take, measured by a DM to the bot.
	e.h.Command(alice, "help")
	if n := len(e.emu.Requests("/oauth2/v2.0/token")); n > requests+1 || e.emu.TokenGrants(e.me.MRI) != grants {
		t.Fatalf("token endpoint hit %d more times after BAD_CREDENTIALS", n-requests)
	}
}

func TestTokenLoginFreeAccount(t *testing.T) {
	e := newEnv(t)
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	e.h.CommandPrompt(alice, "login teams-token", "Account type")
	e.h.CommandPrompt(alice, "free", "Refresh token")
	e.h.CommandExpect(alice, token, "Signed in to Microsoft Teams as Alice Free")
	e.connected(e.free)
	dm := e.emu.OneToOne(e.frank.MRI, e.free.MRI)
	e.emu.SendText(e.frank.MRI, dm, "hey from frank")
	room := e.room(e.free, dm)
	e.waitTexts(room, e.ghost(e.frank), "hey from frank")
	evt := e.h.SendText(room, alice, "hi frank")
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	if m := e.sentBy(e.free, 1)[0]; m.Conversation != dm {
		t.Fatalf("sent into %s, not %s", m.Conversation, dm)
	}
}

func TestBackfillOnFirstLogin(t *testing.T) {
	e := newEnv(t, withBackfill())
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	for _, s := range []string{"old 1", "old 2", "old 3"} {
		e.emu.SendText(e.bob.MRI, dm, s)
	}
	e.login(e.me)
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "old 1", "old 2", "old 3")
	e.emu.SendText(e.bob.MRI, dm, "new")
	e.waitTexts(room, e.ghost(e.bob), "old 1", "old 2", "old 3", "new")
}

func TestSendFailureShowsReason(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")
	e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 403})
	st := e.status(e.h.SendText(room, alice, "will fail"))
	if isSuccess(st) || st.Message == "" {
		t.Fatalf("status %+v: want a failure with a reason", st)
	}
}

func TestRetriedSendAfter429PostsOnce(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")
	f := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429, RetryAfter: "0", Times: 1})
	st := e.status(e.h.SendText(room, alice, "eventually"))
	if !isSuccess(st) || e.emu.FaultHits(f) != 1 {
		t.Fatalf("status %+v, fault hits %d", st, e.emu.FaultHits(f))
	}
	if got := len(e.emu.MessagesFrom(e.me.MRI)); got != 1 {
		t.Fatalf("alice's message posted %d times", got)
	}
}

func TestChannelsInTeamSpaceWithReplyChainThreads(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	team := e.emu.CreateTeam(e.bob.MRI, "Contoso Rocket", []string{"Launch"}, e.me.MRI)
	launch := team.Channels[1]
	root := e.emu.SendText(e.bob.MRI, launch, "T-minus 10")
	room := e.room(e.me, launch)
	e.waitTexts(room, e.ghost(e.bob), "T-minus 10")
	e.emu.SendText(e.bob.MRI, launch+";messageid="+root, "all systems go")
	e.waitTexts(room, e.ghost(e.bob), "T-minus 10", "all systems go")
	rootEvt := e.eventFor(room, root)
	for _, m := range e.h.Matrix.Messages(room) {
		if mc := m.Message(); mc != nil && mc.Body == "all systems go" {
			if mc.RelatesTo == nil || mc.RelatesTo.Type != event.RelThread || mc.RelatesTo.EventID != rootEvt {
				t.Fatalf("the reply is not in the root's Matrix thread: %+v", mc.RelatesTo)
			}
		}
	}
	space := e.h.PortalRoom(networkid.PortalKey{ID: teamSpaceID(team.ID)})
	e.h.WaitFor("the channel in the team's space", func() bool {
		r := e.h.Matrix.Room(space)
		return r != nil && r.State["m.space.child|"+string(room)] != nil
	})
	if r := e.h.Matrix.Room(space); fmt.Sprint(r.Request.CreationContent["type"]) != "m.space" {
		t.Fatalf("the team room is not a space: %+v", r.Request.CreationContent)
	}

	// A Matrix reply in the thread goes into the reply chain.
	evt := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "go for launch",
		RelatesTo: (&event.RelatesTo{}).SetThread(rootEvt, rootEvt)})
	if st := e.status(evt); !isSuccess(st) {
		t.Fatalf("send status %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; m.Conversation != launch || m.Root != root {
		t.Fatalf("sent into %s (root %s), want %s root %s", m.Conversation, m.Root, launch, root)
	}
}

func TestMatrixFailureKeepsCatchUpPointAndRetriesInOrder(t *testing.T) {
	for _, buffer := range []int{0, 64} {
		t.Run(fmt.Sprintf("portal_event_buffer=%d", buffer), func(t *testing.T) { testMatrixFailureRetries(t, buffer) })
	}
}

func testMatrixFailureRetries(t *testing.T, buffer int) {
	e := newEnv(t, func(e *env, _ *teamsemu.Options) { e.eventBuffer = buffer })
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "one")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "one")
	var refused atomic.Int32
	e.h.Matrix.SetSendFault(func(_ id.RoomID, _ id.UserID, content *event.Content) (bool, error) {
		if mc, ok := content.Parsed.(*event.MessageEventContent); ok && mc.Body == "two" && refused.Add(1) <= 2 {
			return false, fmt.Errorf("homeserver unavailable")
		}
		return true, nil
	})
	e.emu.SendText(e.bob.MRI, dm, "two")
	e.emu.SendText(e.bob.MRI, dm, "three")
	e.waitTexts(room, e.ghost(e.bob), "one", "two", "three")
	if refused.Load() < 1 {
		t.Fatal("the fault never refused a send, so nothing was retried")
	}
	// The point moved past them only now: a restart brings nothing twice.
	e.restart()
	e.connected(e.me)
	e.emu.SendText(e.bob.MRI, dm, "four")
	e.waitTexts(room, e.ghost(e.bob), "one", "two", "three", "four")
}

func TestScrollBackFetchesOlderHistory(t *testing.T) {
	e := newEnv(t)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	var ids_ []string
	for _, s := range []string{"old 1", "old 2", "old 3"} {
		ids_ = append(ids_, e.emu.SendText(e.bob.MRI, dm, s))
	}
	c := e.login(e.me)
	newID := e.emu.SendText(e.bob.MRI, dm, "new")
	room := e.room(e.me, dm)
	e.h.WaitFor("the new message", func() bool {
		got := e.texts(room, e.ghost(e.bob))
		return len(got) > 0 && got[len(got)-1] == "new"
	})
	portal, err := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Teams, dm), Receiver: e.loginID(e.me)})
	if err != nil || portal == nil {
		t.Fatalf("portal: %v", err)
	}
	e.eventFor(room, newID) // waits until the message row is saved
	anchor, err := e.h.Bridge.DB.Message.GetFirstPartByID(e.h.Ctx, e.loginID(e.me), ids.MessageID(ids.Teams, newID))
	if err != nil || anchor == nil {
		t.Fatalf("anchor: %v", err)
	}
	resp, err := c.FetchMessages(e.h.Ctx, bridgev2.FetchMessagesParams{Portal: portal, Forward: false, AnchorMessage: anchor, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range resp.Messages {
		got = append(got, string(m.ID))
	}
	want := []string{string(ids.MessageID(ids.Teams, ids_[1])), string(ids.MessageID(ids.Teams, ids_[2]))}
	if strings.Join(got, ",") != strings.Join(want, ",") || !resp.HasMore || resp.Cursor == "" {
		t.Fatalf("scroll back got %v (more %t, cursor %q), want %v with more", got, resp.HasMore, resp.Cursor, want)
	}
	resp, err = c.FetchMessages(e.h.Ctx, bridgev2.FetchMessagesParams{Portal: portal, Forward: false, AnchorMessage: anchor, Cursor: resp.Cursor, Count: 2})
	if err != nil || len(resp.Messages) != 1 || string(resp.Messages[0].ID) != string(ids.MessageID(ids.Teams, ids_[0])) {
		t.Fatalf("second page %+v (%v), want old 1", resp, err)
	}
}

func TestChangedCredentialKeyIsBadCredentialsNotACrash(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	db := e.h.DBPath
	e.h.Stop()
	e.credKey = "another-key"
	e.start(db)
	e.h.WaitFor("BAD_CREDENTIALS after the key change", func() bool {
		ul := e.h.Bridge.GetCachedUserLoginByID(e.loginID(e.me))
		return ul != nil && ul.Client.(*Client).LastState() == status.StateBadCredentials
	})
	e.h.WaitFor("a notice about signing in again", func() bool {
		for _, r := range e.h.BotReplies(alice) {
			if strings.Contains(r, "login teams") && strings.Contains(r, "credential_key") {
				return true
			}
		}
		return false
	})
}

func TestSendWhilePushChannelIsDown(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")
	// Trouter allocations fail for a while: the socket stays down.
	f := e.emu.InjectFault(teamsemu.Fault{PathContains: "/v4/a", Status: 503})
	e.emu.DropTrouter(e.me.MRI, false)
	e.h.WaitFor("the push channel to fail to come back", func() bool {
		return e.emu.FaultHits(f) > 0 && e.client(e.me).LastState() == status.StateTransientDisconnect
	})
	st := e.status(e.h.SendText(room, alice, "sent over REST"))
	if !isSuccess(st) {
		t.Fatalf("send while the push channel is down: %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; !strings.Contains(m.Content, "sent over REST") {
		t.Fatalf("Teams got %q", m.Content)
	}
	e.emu.ClearFaults()
	e.connected(e.me)
	e.emu.SendText(e.bob.MRI, dm, "back")
	e.waitTexts(room, e.ghost(e.bob), "hi", "back")
}

func TestReloginAfterBadCredentialsFillsTheGap(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "before")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "before")
	epid := e.client(e.me).meta.EPID
	e.emu.RevokeRefreshTokens(e.me.MRI)
	e.emu.ExpireAccessTokens(e.me.MRI)
	e.emu.ExpireSkypeTokens(e.me.MRI)
	e.emu.DropTrouter(e.me.MRI, false)
	e.h.WaitFor("BAD_CREDENTIALS", func() bool { return e.client(e.me).LastState() == status.StateBadCredentials })
	e.emu.SendText(e.bob.MRI, dm, "while signed out")
	e.login(e.me)
	e.waitTexts(room, e.ghost(e.bob), "before", "while signed out")
	if got := e.client(e.me).meta.EPID; got != epid {
		t.Errorf("signing in again made a new Trouter endpoint %s (was %s)", got, epid)
	}
}

// TestLostHomeserverAnswerDoesNotDoubleTheMessage: the homeserver stores a
// message but its answer never reaches the bridge (as when the bridge is
// killed right after sending); the retry finds the message in the room and
// does not send it again.
func TestLostHomeserverAnswerDoesNotDoubleTheMessage(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "one")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "one")
	var lost atomic.Int32
	e.h.Matrix.SetSendFault(func(_ id.RoomID, _ id.UserID, content *event.Content) (bool, error) {
		if mc, ok := content.Parsed.(*event.MessageEventContent); ok && mc.Body == "two" && lost.Add(1) == 1 {
			return true, fmt.Errorf("connection reset before the answer")
		}
		return true, nil
	})
	e.emu.SendText(e.bob.MRI, dm, "two")
	e.emu.SendText(e.bob.MRI, dm, "three")
	e.waitTexts(room, e.ghost(e.bob), "one", "two", "three")
	if lost.Load() != 1 {
		t.Fatalf("the lost answer happened %d times, want once (a second send of \"two\" would be a double)", lost.Load())
	}
	e.restart()
	e.connected(e.me)
	e.emu.SendText(e.bob.MRI, dm, "four")
	e.waitTexts(room, e.ghost(e.bob), "one", "two", "three", "four")
}
