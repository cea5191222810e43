package teams

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/msgfmt"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// Issue 7 item 5: a Teams message over the homeserver's event size limit
// reaches the room in parts that each fit, none lost.
func TestHardenLongTeamsMessageIsSplit(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	word := "lorem-ipsum "
	long := strings.Repeat(word, 100*1024/len(word)) + "THE END"
	e.emu.SendText(e.bob.MRI, dm, long)
	room := e.room(e.me, dm)
	e.h.WaitFor("the long message's last part", func() bool {
		texts := e.texts(room, e.ghost(e.bob))
		return len(texts) > 0 && strings.HasSuffix(texts[len(texts)-1], "THE END")
	})
	var joined strings.Builder
	n := 0
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender != e.ghost(e.bob) {
			continue
		}
		n++
		raw, _ := json.Marshal(m.Content.Parsed)
		if len(raw) > 60*1024 {
			t.Fatalf("part %d is %d bytes of JSON: the homeserver would refuse it", n, len(raw))
		}
		body := strings.TrimPrefix(m.Message().Body, msgfmt.FormattingRemovedMarker+"\n")
		_, rest, _ := strings.Cut(body, ") ")
		joined.WriteString(rest)
	}
	if n < 2 || joined.String() != strings.TrimSpace(long) {
		t.Fatalf("%d parts adding up to %d of %d bytes", n, joined.Len(), len(long))
	}
}

// Matrix message kinds Teams cannot carry as they are each get a defined,
// visible outcome: a location as text with its coordinates, a sticker as a
// picture, a whitespace-only message refused with a notice.
func TestHardenTeamsMatrixKindsHaveOutcomes(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")

	loc := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgLocation,
		Body: "Location: Big Ben", GeoURI: "geo:51.5007,-0.1246"})
	if st := e.status(loc); !isSuccess(st) {
		t.Fatalf("location: %+v", st)
	}
	if m := e.sentBy(e.me, 1)[0]; !strings.Contains(m.Content, "51.5007") || !strings.Contains(m.Content, "Big Ben") {
		t.Fatalf("the location went as %q", m.Content)
	}
	ws := e.h.SendMatrix(room, alice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: " \n\t ",
		Format: event.FormatHTML, FormattedBody: "<p> </p>"})
	if st := e.status(ws); isSuccess(st) || !strings.Contains(st.Message, "white space") {
		t.Fatalf("a whitespace-only message: %+v", st)
	}
	sticker := e.h.SendMatrix(room, alice, event.EventSticker, &event.MessageEventContent{Body: "a cat sticker",
		URL: e.h.Matrix.PutMedia([]byte("\x89PNG\r\n\x1a\nsticker")), Info: &event.FileInfo{MimeType: "image/png"}})
	if st := e.status(sticker); !isSuccess(st) {
		t.Fatalf("sticker: %+v", st)
	}
	if m := e.sentBy(e.me, 2)[1]; len(m.AMSReferences) != 1 || !strings.Contains(m.Content, msgfmt.AMSImageSchema) {
		t.Fatalf("the sticker went as %+v", m)
	}
}

// Issue 7 item 11: start-chat with a person Teams does not know is refused
// with a clear message, and no room is made.
func TestHardenTeamsStartChatWithNobodyIsRefused(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	lid := string(e.loginID(e.me))
	nobody := "8:orgid:00000000-dead-beef-0000-000000000000"
	reply := e.h.Command(alice, "start-chat "+lid+" teams:"+nobody)
	if !strings.Contains(reply, "no Teams user") {
		t.Fatalf("start-chat with nobody answered %q", reply)
	}
	dm, _ := teamsapi.OneOnOneID(e.me.MRI, nobody)
	key := networkid.PortalKey{ID: ids.PortalID(ids.Teams, dm), Receiver: e.loginID(e.me)}
	if p, err := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, key); err != nil || (p != nil && p.MXID != "") {
		t.Fatalf("a room was made for nobody: %+v %v", p, err)
	}
	// An address no network knows: the bridge says none of the logins
	// knows it (another network might have, so Teams passes it on).
	if reply = e.h.Command(alice, "start-chat "+lid+" teams:nobody@contoso.com"); !strings.Contains(reply, `knows "nobody@contoso.com"`) || strings.Contains(reply, "Created") {
		t.Fatalf("start-chat with an unknown address answered %q", reply)
	}
	// Someone who exists still works.
	if reply = e.h.Command(alice, "start-chat "+lid+" teams:"+e.carol.MRI); strings.Contains(reply, "no Teams user") {
		t.Fatalf("start-chat with carol answered %q", reply)
	}
}

// Issue 7 item 5: a message of a kind the bridge does not know, or one
// nothing readable comes of, becomes a notice in the room, never silence.
func TestHardenTeamsUnreadableMessagesBecomeNotices(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendWith(e.bob.MRI, dm, "<card>vote now</card>", teamsemu.SendOptions{MessageType: "Event/SomethingNew"})
	e.emu.Send(e.bob.MRI, dm, "<script>alert(1)</script><style>p{}</style>")
	e.emu.SendText(e.bob.MRI, dm, "after")
	room := e.room(e.me, dm)
	e.h.WaitFor("three events from bob", func() bool { return len(e.texts(room, e.ghost(e.bob))) == 3 })
	var got []*event.MessageEventContent
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender == e.ghost(e.bob) {
			got = append(got, m.Message())
		}
	}
	if got[0].MsgType != event.MsgNotice || !strings.Contains(got[0].Body, "Event/SomethingNew") || !strings.Contains(got[0].Body, "Bob Brown") {
		t.Fatalf("unknown type: %+v", got[0])
	}
	if got[1].MsgType != event.MsgNotice || !strings.Contains(got[1].Body, "could not be read") {
		t.Fatalf("unreadable content: %+v", got[1])
	}
	if got[2].Body != "after" {
		t.Fatalf("the message after: %+v", got[2])
	}
}

// Issue 7 item 12: a thread read without a member list is no proof that
// everyone left; a resync then keeps every member.
func TestHardenTeamsResyncWithoutMembersKeepsEveryone(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	group := e.emu.CreateGroup(e.bob.MRI, "Planning", e.me.MRI, e.carol.MRI)
	e.emu.SendText(e.bob.MRI, group, "hello group")
	room := e.room(e.me, group)
	e.waitTexts(room, e.ghost(e.bob), "hello group")
	e.h.WaitFor("bob and carol in the room", func() bool {
		r := e.h.Matrix.Room(room)
		return r.Members[e.ghost(e.bob)] == event.MembershipJoin && r.Members[e.ghost(e.carol)] == event.MembershipJoin
	})
	// Every thread read now answers without members.
	e.emu.InjectFault(teamsemu.Fault{Method: "GET", PathContains: "/threads/" + group, Status: 200, Times: 100,
		Body: `{"id":"` + group + `","type":"Thread","version":1,"properties":{"topic":"Planning 2"}}`})
	e.emu.SetTopic(e.bob.MRI, group, "Planning 2")
	e.h.WaitFor("the new topic", func() bool {
		c := e.h.Matrix.Room(room).State[event.StateRoomName.Type+"|"]
		return c != nil && c.Parsed != nil && c.Parsed.(*event.RoomNameEventContent).Name == "Planning 2"
	})
	e.emu.SendText(e.bob.MRI, group, "still here")
	e.waitTexts(room, e.ghost(e.bob), "hello group", "still here")
	r := e.h.Matrix.Room(room)
	if r.Members[e.ghost(e.bob)] != event.MembershipJoin || r.Members[e.ghost(e.carol)] != event.MembershipJoin || (r.Members[alice] != event.MembershipJoin && r.Members[alice] != event.MembershipInvite) {
		t.Fatalf("members after a resync without a member list: %v", r.Members)
	}
}

// Issue 7 item 1: a message push that comes without a readable resource
// makes the bridge read the chat again, so the message still arrives.
func TestHardenTeamsPushWithoutResourceIsFetchedAgain(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "first")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "first")
	// The real push is lost; what comes instead names the message by its
	// link only.
	e.emu.HoldDeliveries(e.me.Email)
	id := e.emu.SendText(e.bob.MRI, dm, "only a link")
	if n := e.emu.DropHeldDeliveries(e.me.Email); n == 0 {
		t.Fatal("the push was not held")
	}
	c.onPush(e.h.Ctx, &chatsvc.EventMessage{ID: "77", Type: "EventMessage", ResourceType: chatsvc.ResourceNewMessage,
		ResourceLink: e.url + "/v1/users/ME/conversations/" + dm + "/messages/" + id})
	e.waitTexts(room, e.ghost(e.bob), "first", "only a link")
}

// Issue 7 item 5: a pushed message with an unreadable time is dated by its
// arrival (with a warn line), one with unreadable content becomes a notice
// naming the sender; neither is lost.
func TestHardenTeamsMalformedPushesAreNotLost(t *testing.T) {
	sink := &lockedBuffer{}
	e := newEnv(t, func(e *env, _ *teamsemu.Options) {
		l := zerolog.New(sink).Level(zerolog.DebugLevel)
		e.log = &l
	})
	c := e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "first")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "first")
	from := e.url + "/v1/users/ME/contacts/" + e.bob.MRI
	push := func(evID, msgID, fields string) {
		c.onPush(e.h.Ctx, &chatsvc.EventMessage{ID: chatsvc.FlexString(evID), Type: "EventMessage", ResourceType: chatsvc.ResourceNewMessage,
			ResourceLink: e.url + "/v1/users/ME/conversations/" + dm + "/messages/" + msgID,
			Resource: json.RawMessage(`{"id":"` + msgID + `","type":"Message","messagetype":"RichText/Html","conversationid":"` + dm +
				`","from":"` + from + `","imdisplayname":"Bob Brown",` + fields + `}`)})
	}
	before := time.Now()
	push("90", "9000000000001", `"content":"<p>dated oddly</p>","originalarrivaltime":"next tuesday","composetime":{"x":1}`)
	push("91", "9000000000002", `"content":{"html":"?"},"originalarrivaltime":"2026-01-23T18:03:52.001Z"`)
	e.h.WaitFor("both pushes in the room", func() bool { return len(e.texts(room, e.ghost(e.bob))) == 3 })
	var got []*bridgetest.Event
	for _, m := range e.h.Matrix.Messages(room) {
		if m.Sender == e.ghost(e.bob) {
			got = append(got, m)
		}
	}
	if got[1].Message().Body != "dated oddly" || got[1].Timestamp.Before(before.Add(-time.Second)) {
		t.Fatalf("bad time: %q at %v", got[1].Message().Body, got[1].Timestamp)
	}
	if !strings.Contains(sink.String(), "Unreadable Teams message time") || !strings.Contains(sink.String(), "next tuesday") {
		t.Fatal("no log line names the unreadable time")
	}
	if m := got[2].Message(); m.MsgType != event.MsgNotice || !strings.Contains(m.Body, "could not be read") || !strings.Contains(m.Body, "Bob Brown") {
		t.Fatalf("unreadable content: %+v", m)
	}
}
