package teams

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// After downtime the bridge fills in what happened meanwhile — new
// messages, edits, deletions, reactions added and removed — each in its own
// room, messages in order, nothing twice.
func TestDowntimeEditsDeletionsAndReactionsAreFilledIn(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	toEdit := e.emu.SendText(e.bob.MRI, dm, "meet at 10")
	toDelete := e.emu.SendText(e.bob.MRI, dm, "wrong chat, sorry")
	toReact := e.emu.SendText(e.bob.MRI, dm, "slides attached")
	dmRoom := e.room(e.me, dm)
	e.waitTexts(dmRoom, e.ghost(e.bob), "meet at 10", "wrong chat, sorry", "slides attached")
	group := e.emu.CreateGroup(e.carol.MRI, "Offsite", e.me.MRI, e.bob.MRI)
	unreacted := e.emu.SendText(e.carol.MRI, group, "venue booked")
	groupRoom := e.room(e.me, group)
	e.waitTexts(groupRoom, e.ghost(e.carol), "venue booked")
	e.emu.React(e.bob.MRI, group, unreacted, "like")
	likeEvt := e.waitReaction(groupRoom, e.ghost(e.bob), e.eventFor(groupRoom, unreacted), "👍")
	editEvt, deleteEvt, reactEvt := e.eventFor(dmRoom, toEdit), e.eventFor(dmRoom, toDelete), e.eventFor(dmRoom, toReact)

	db := e.h.DBPath
	e.h.Stop()
	e.emu.Edit(dm, toEdit, "<p>meet at 11</p>")
	e.emu.Delete(dm, toDelete)
	e.emu.React(e.bob.MRI, dm, toReact, "heart")
	e.emu.Unreact(e.bob.MRI, group, unreacted, "like")
	e.emu.SendText(e.bob.MRI, dm, "while away 1")
	e.emu.SendText(e.carol.MRI, group, "group while away")
	e.emu.SendText(e.bob.MRI, dm, "while away 2")
	e.start(db)
	e.connected(e.me)

	e.waitTexts(dmRoom, e.ghost(e.bob), "meet at 10", "wrong chat, sorry", "slides attached", "while away 1", "while away 2")
	e.waitTexts(groupRoom, e.ghost(e.carol), "venue booked", "group while away")
	e.h.WaitFor("the edit made while the bridge was down", func() bool {
		for _, m := range e.h.Matrix.Messages(dmRoom) {
			if mc := m.Message(); mc != nil && mc.RelatesTo.GetReplaceID() == editEvt && mc.NewContent != nil && mc.NewContent.Body == "meet at 11" {
				return true
			}
		}
		return false
	})
	e.waitRedaction(dmRoom, deleteEvt)
	e.waitReaction(dmRoom, e.ghost(e.bob), reactEvt, "❤")
	e.waitRedaction(groupRoom, likeEvt)

	// Once each: one edit, the group's messages only in the group.
	edits := 0
	for _, m := range e.h.Matrix.Messages(dmRoom) {
		if mc := m.Message(); mc != nil && mc.RelatesTo.GetReplaceID() == editEvt {
			edits++
		}
		if mc := m.Message(); mc != nil && mc.Body == "group while away" {
			t.Errorf("the group's message showed up in the DM")
		}
	}
	if edits != 1 {
		t.Errorf("the edit is in Matrix %d times, want once", edits)
	}
}

// waitReaction waits for sender's reaction with emoji (variation selector
// ignored) on target and returns its event.
func (e *env) waitReaction(room id.RoomID, sender id.UserID, target id.EventID, emoji string) id.EventID {
	e.t.Helper()
	var found id.EventID
	e.h.WaitFor(string(sender)+"'s "+emoji+" on "+string(target), func() bool {
		for _, ev := range e.h.Matrix.Events(room) {
			if ev.Type != event.EventReaction || ev.Sender != sender {
				continue
			}
			rc := ev.Content.AsReaction()
			if rc.RelatesTo.EventID == target && strings.TrimSuffix(rc.RelatesTo.Key, "\ufe0f") == strings.TrimSuffix(emoji, "\ufe0f") {
				found = ev.ID
				return true
			}
		}
		return false
	})
	return found
}

// On first login only the initial_chats most recent chats get a room (10
// in the test config), each with its initial_messages latest messages (20);
// an older chat gets its room when something new arrives in it.
func TestFirstLoginHonoursInitialChatsAndMessages(t *testing.T) {
	e := newEnv(t, withBackfill())
	var chats []string
	for i := 0; i < 11; i++ {
		g := e.emu.CreateGroup(e.bob.MRI, fmt.Sprintf("Chat %d", i), e.me.MRI)
		e.emu.SendText(e.bob.MRI, g, fmt.Sprintf("hello %d", i))
		chats = append(chats, g)
	}
	newest := chats[len(chats)-1]
	var history []string
	for i := 1; i <= 22; i++ {
		history = append(history, fmt.Sprintf("history %d", i))
		e.emu.SendText(e.bob.MRI, newest, history[i-1])
	}
	e.login(e.me)
	for _, g := range chats[1 : len(chats)-1] {
		e.waitTexts(e.room(e.me, g), e.ghost(e.bob), "hello "+strings.TrimPrefix(e.emu.Topic(g), "Chat "))
	}
	newestRoom := e.room(e.me, newest)
	e.waitTexts(newestRoom, e.ghost(e.bob), history[2:]...)

	oldest := networkid.PortalKey{ID: ids.PortalID(ids.Teams, chats[0]), Receiver: e.loginID(e.me)}
	want := e.h.Matrix.GenerateDeterministicRoomID(oldest)
	for _, r := range e.h.Matrix.Rooms() {
		if r.Request.BeeperLocalRoomID == want {
			t.Fatalf("the 11th most recent chat got a room although initial_chats is 10")
		}
	}
	e.emu.SendText(e.bob.MRI, chats[0], "anyone here?")
	e.waitTexts(e.h.PortalRoom(oldest), e.ghost(e.bob), "hello 0", "anyone here?")
}

// A send the service answers with 503, then with 429 and a Retry-After
// HTTP-date, is retried with the same clientmessageid and posted once.
func TestRetriedSendAfter5xxAndRetryAfterDatePostsOnce(t *testing.T) {
	e := newEnv(t)
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hi")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hi")
	unavailable := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 503, Times: 1})
	throttled := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: 429,
		RetryAfter: time.Now().Add(-time.Second).UTC().Format(http.TimeFormat), Times: 1})
	st := e.status(e.h.SendText(room, alice, "eventually"))
	if !isSuccess(st) {
		t.Fatalf("status %+v", st)
	}
	if e.emu.FaultHits(unavailable) != 1 || e.emu.FaultHits(throttled) != 1 {
		t.Fatalf("fault hits: 503 %d, 429 %d; want each once", e.emu.FaultHits(unavailable), e.emu.FaultHits(throttled))
	}
	sent := e.emu.MessagesFrom(e.me.MRI)
	if len(sent) != 1 || !strings.Contains(sent[0].Content, "eventually") {
		t.Fatalf("alice's message posted %d times: %+v", len(sent), sent)
	}
}
