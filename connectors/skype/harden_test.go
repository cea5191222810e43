package skype

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// botNotices are the bridge bot's notices in a room.
func (e *env) botNotices(room id.RoomID) []string {
	var out []string
	for _, m := range e.h.Matrix.Messages(room) {
		if c := m.Message(); m.Sender == bridgetest.BotMXID && c != nil {
			out = append(out, c.Body)
		}
	}
	return out
}

func (e *env) waitNotice(room id.RoomID, what string, match func(string) bool) string {
	e.t.Helper()
	var got string
	e.h.WaitFor(what, func() bool {
		for _, n := range e.botNotices(room) {
			if match(n) {
				got = n
				return true
			}
		}
		return false
	})
	return got
}

// Issue 7 item 5: a Skype message over the homeserver's event size limit
// reaches the room in parts that each fit, none lost.
func TestHardenLongSkypeMessageIsSplit(t *testing.T) {
	e := newEnv(t)
	e.login()
	word := "lorem-ipsum "
	long := strings.Repeat(word, 100*1024/len(word)) + "THE END"
	e.emu.Send(bob, carol, long)
	room := e.dmRoom(bob)
	e.h.WaitFor("the long message's last part", func() bool {
		texts := e.texts(room, e.ghost(bob))
		return len(texts) > 0 && strings.HasSuffix(texts[len(texts)-1], "THE END")
	})
	texts := e.texts(room, e.ghost(bob))
	if len(texts) < 2 {
		t.Fatalf("%d event(s) for a 100 KB message", len(texts))
	}
	var joined strings.Builder
	for i, m := range e.h.Matrix.Messages(room) {
		raw, _ := json.Marshal(m.Content.Parsed)
		if len(raw) > 60*1024 {
			t.Fatalf("part %d is %d bytes of JSON: the homeserver would refuse it", i, len(raw))
		}
		body := strings.TrimPrefix(m.Message().Body, msgfmt.FormattingRemovedMarker+"\n")
		_, rest, _ := strings.Cut(body, ") ")
		joined.WriteString(rest)
	}
	if joined.String() != strings.TrimSpace(long) {
		t.Fatalf("the parts do not add up to the message (%d of %d bytes)", joined.Len(), len(long))
	}
}

// Skype has no reactions (skype-web.md): a Matrix reaction stays on the
// Matrix side with a notice saying so, rather than vanishing.
func TestHardenSkypeReactionGetsNotice(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "react to me")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "react to me")
	target := e.h.Matrix.Messages(room)[0].ID
	e.h.SendMatrix(room, carolMX, event.EventReaction, &event.ReactionEventContent{
		RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: target, Key: "👍"}})
	e.waitNotice(room, "a notice about the reaction", func(s string) bool {
		return strings.Contains(s, "reaction") && strings.Contains(s, "👍")
	})
}

// Matrix message kinds Skype cannot carry as they are each get a defined,
// visible outcome.
func TestHardenSkypeMatrixKindsHaveOutcomes(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")

	// A location goes as text with its geo: link.
	e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgLocation,
		Body: "Location: Big Ben", GeoURI: "geo:51.5007,-0.1246"})
	sent := e.sentBy(carol, 1)
	if !strings.Contains(sent[0].Content, "51.5007") {
		t.Fatalf("the location went as %q", sent[0].Content)
	}
	// A whitespace-only message is not sent, and the room says so.
	ws := e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: " \n\t "})
	if st := e.status(ws); st.Status == event.MessageStatusSuccess || !strings.Contains(st.Message, "white space") {
		t.Fatalf("a whitespace-only message: %+v", st)
	}
	// A sticker goes as an image (or a visible failure).
	sticker := e.h.SendMatrix(room, carolMX, event.EventSticker, &event.MessageEventContent{Body: "a cat sticker",
		URL: e.h.Matrix.PutMedia([]byte("\x89PNG\r\n\x1a\nsticker")), Info: &event.FileInfo{MimeType: "image/png"}})
	if st := e.status(sticker); st.Status != event.MessageStatusSuccess {
		t.Fatalf("sticker: %+v", st)
	}
	e.sentBy(carol, 2)
	// A poll: not sent, with a notice.
	poll := e.h.SendMatrix(room, carolMX, event.EventUnstablePollStart, &event.PollStartEventContent{})
	// (bridgev2 posts its failure as a notice: ErrPollsNotSupported has
	// SendNotice; the harness records the status only.)
	if st := e.status(poll); st.Status == event.MessageStatusSuccess || !strings.Contains(st.Error+st.Message, "poll") {
		t.Fatalf("a poll: %+v", st)
	}
	if n := len(e.emu.SentBy(carol)); n != 2 {
		t.Fatalf("carol sent %d Skype messages, want 2 (location, sticker)", n)
	}
}

// Issue 7 item 18: when the bot has no power to delete the message holding
// the typed password, the user is told to delete it; with the power,
// nothing is said.
func TestHardenUndeletablePasswordMessageIsFlagged(t *testing.T) {
	e := newEnv(t)
	// One command each (flow, account, password): no prompt to race.
	e.h.CommandExpect(carolMX, "login skype "+carol+" wrong-pw", "Please delete it yourself")
	// The first login's reply must say it too.
	e.h.CommandExpect(carolMX, "login skype "+carol+" "+carolPass, "Please delete it yourself")

	room := e.h.ManagementRoom(carolMX)
	_, err := e.h.Matrix.BotIntent().SendState(e.h.Ctx, room, event.StatePowerLevels, "", &event.Content{
		Parsed: &event.PowerLevelsEventContent{Users: map[id.UserID]int{bridgetest.BotMXID: 100, carolMX: 100}},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if reply := e.h.CommandExpect(carolMX, "login skype "+carol+" "+carolPass, "Signed in to Skype"); strings.Contains(reply, "delete it yourself") {
		t.Fatalf("warned although the bot can redact: %q", reply)
	}
}

// Issue 7 item 11: start-chat with a Skype name nobody has is refused with
// a clear message and makes no room.
func TestHardenSkypeStartChatWithNobodyIsRefused(t *testing.T) {
	e := newEnv(t)
	e.login()
	if reply := e.h.Command(carolMX, "start-chat skype:nobody.here"); !strings.Contains(reply, "no Skype user nobody.here") {
		t.Fatalf("start-chat with nobody answered %q", reply)
	}
	if p, err := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, e.portal("8:nobody.here")); err != nil || (p != nil && p.MXID != "") {
		t.Fatalf("a room was made for nobody: %+v %v", p, err)
	}
}

// Issue 7 item 12: a thread read without a member list is no proof that
// everyone left; a resync then keeps every member (and the name).
func TestHardenSkypeResyncWithoutMembersKeepsEveryone(t *testing.T) {
	e := newEnv(t)
	e.login()
	group := e.emu.CreateGroup(bob, "Planning", carol, alice)
	e.emu.Send(bob, group, "hello group")
	room := e.h.PortalRoom(e.portal(group))
	e.waitTexts(room, e.ghost(bob), "hello group")
	joined := func() []id.UserID {
		var out []id.UserID
		for u, m := range e.h.Matrix.Room(room).Members {
			if m == event.MembershipJoin {
				out = append(out, u)
			}
		}
		return out
	}
	e.h.WaitFor("bob and alice in the room", func() bool {
		r := e.h.Matrix.Room(room)
		return r.Members[e.ghost(bob)] == event.MembershipJoin && r.Members[e.ghost(alice)] == event.MembershipJoin
	})
	before := len(joined())
	e.emu.OmitThreadMembers(true)
	e.emu.SetTopic(bob, group, "Planning 2")
	e.h.WaitFor("the new topic", func() bool {
		c := e.h.Matrix.Room(room).State[event.StateRoomName.Type+"|"]
		return c != nil && c.Parsed != nil && c.Parsed.(*event.RoomNameEventContent).Name == "Planning 2"
	})
	// A later message proves the resync was handled before it.
	e.emu.Send(bob, group, "still here")
	e.waitTexts(room, e.ghost(bob), "hello group", "still here")
	r := e.h.Matrix.Room(room)
	if r.Members[e.ghost(bob)] != event.MembershipJoin || r.Members[e.ghost(alice)] != event.MembershipJoin || len(joined()) != before {
		t.Fatalf("members after a resync without a member list: %v (had %d)", r.Members, before)
	}
}

// Issue 7 items 4 and 5: a message with a field that does not decode is
// still bridged: content that cannot be read becomes a notice naming the
// sender, a bad time is replaced by the receive time; the messages after
// them arrive too.
func TestHardenSkypeMalformedMessagesAreNotLost(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "first")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "first")
	before := time.Now()
	e.emu.SendMalformed(bob, carol, "", map[string]any{"content": map[string]any{"not": "text"}})
	e.emu.SendMalformed(bob, carol, "dated oddly", map[string]any{"originalarrivaltime": "sometime last week", "composetime": map[string]any{}})
	e.emu.Send(bob, carol, "last")
	e.h.WaitFor("four events from bob", func() bool { return len(e.texts(room, e.ghost(bob))) == 4 })
	var got []*bridgetest.Event
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender == e.ghost(bob) {
			got = append(got, m)
		}
	}
	if c := got[1].Message(); c.MsgType != event.MsgNotice || !strings.Contains(c.Body, "could not be read") || !strings.Contains(c.Body, "Bob Brown") {
		t.Fatalf("unreadable content: %+v", c)
	}
	if c := got[2].Message(); c.Body != "dated oddly" || got[2].Timestamp.Before(before.Add(-time.Second)) {
		t.Fatalf("bad time: %q at %v (before %v)", c.Body, got[2].Timestamp, before)
	}
	if got[3].Message().Body != "last" {
		t.Fatalf("the message after: %+v", got[3].Message())
	}
}

// Issue 7 item 13: a new group's room carries its name and its picture, so
// the invite in Element is more than one more invite from the bridge bot.
func TestHardenSkypeGroupRoomHasNameAndAvatar(t *testing.T) {
	e := newEnv(t)
	e.login()
	group := e.emu.CreateGroup(bob, "Design crew", carol, alice)
	picture := []byte("\x89PNG\r\n\x1a\ngroup picture")
	e.emu.SetGroupPicture(group, picture)
	e.emu.Send(bob, group, "welcome")
	room := e.h.PortalRoom(e.portal(group))
	e.waitTexts(room, e.ghost(bob), "welcome")
	var avatarURL id.ContentURIString
	e.h.WaitFor("the room's avatar", func() bool {
		r := e.h.Matrix.Room(room)
		if c := r.State[event.StateRoomAvatar.Type+"|"]; c != nil && c.Parsed != nil {
			avatarURL = c.Parsed.(*event.RoomAvatarEventContent).URL
		}
		for _, st := range r.Request.InitialState {
			if st.Type == event.StateRoomAvatar {
				if ac, ok := st.Content.Parsed.(*event.RoomAvatarEventContent); ok && ac.URL != "" {
					avatarURL = ac.URL
				}
			}
		}
		return avatarURL != ""
	})
	if data, ok := e.h.Matrix.Media(avatarURL); !ok || string(data) != string(picture) {
		t.Fatalf("the room avatar is %q", data)
	}
	name := ""
	for _, st := range e.h.Matrix.Room(room).Request.InitialState {
		if nc, ok := st.Content.Parsed.(*event.RoomNameEventContent); ok && st.Type == event.StateRoomName {
			name = nc.Name
		}
	}
	if name != "Design crew" {
		t.Fatalf("the room was created named %q", name)
	}
}

// Issue 7 item 9: a message sent while the login is still connecting after
// a restart waits for it (bridge.send_reconnect_wait, 30 s in the shipped
// config) and is delivered, instead of failing with "not logged in".
func TestHardenSkypeSendRightAfterRestartWaits(t *testing.T) {
	e := newEnv(t, func(e *env, _ *skypeemu.Options) { e.sendReconnectWait = 30 * time.Second })
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	// The poll answers slowly, so the restarted login is not connected
	// when the message comes.
	e.emu.FailNext("POST", "/endpoints", 503, nil, 3)
	e.restart()
	evt := e.h.SendText(room, carolMX, "sent while connecting")
	if st := e.status(evt); st.Status != event.MessageStatusSuccess {
		t.Fatalf("a send right after a restart: %+v", st)
	}
	if got := e.sentBy(carol, 1); got[0].Content != "sent while connecting" {
		t.Fatalf("Skype got %+v", got)
	}
}

// Issue 7 item 1: a message event that comes without its resource is read
// from its resourceLink, not dropped.
func TestHardenSkypeEventWithoutResourceIsReadFromItsLink(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "first")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "first")
	e.emu.OmitNextResources(1)
	e.emu.Send(bob, carol, "only a link")
	e.emu.Send(bob, carol, "after")
	e.waitTexts(room, e.ghost(bob), "first", "only a link", "after")
}

// Issue 7 item 7: a send Skype holds up (429 with Retry-After) does not
// hold the room: a message from Skype arrives meanwhile; the held message
// and the ones written after it then go out once each, in order.
func TestHardenSkypeHeldSendDoesNotBlockTheRoom(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	e.emu.FailNextWithRetryAfter("POST", "/messages", 429, 429, 1, "4")
	first := e.h.SendText(room, carolMX, "held one")
	second := e.h.SendText(room, carolMX, "written after")
	e.emu.Send(bob, carol, "meanwhile")
	e.waitTexts(room, e.ghost(bob), "hi", "meanwhile")
	if n := len(e.emu.SentBy(carol)); n != 0 {
		t.Fatalf("carol's messages went out before Skype's Retry-After (%d): the test proves nothing", n)
	}
	for _, evt := range []id.EventID{first, second} {
		if st := e.status(evt); st.Status != event.MessageStatusSuccess {
			t.Fatalf("status %+v", st)
		}
	}
	sent := e.sentBy(carol, 2)
	if sent[0].Content != "held one" || sent[1].Content != "written after" {
		t.Fatalf("Skype got %q then %q", sent[0].Content, sent[1].Content)
	}
}
