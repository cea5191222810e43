//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// TestTeamsFeaturesBothWays checks, in an encrypted group chat portal, that
// formatting, a mention, a reply, an edit, a reaction and a deletion each
// cross from Teams to Matrix and from Matrix to Teams, and that typing and
// read receipts cross both ways, and images and files each way, for a work account and a Teams free one.
// The two run in parallel.
func TestTeamsFeaturesBothWays(t *testing.T) {
	requireEnv(t)
	if teamsEmu == nil {
		t.Fatal("the Teams emulator was not started by the set-up hook")
	}
	for _, kind := range []string{"work", "free"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			checkTeamsFeatures(t, kind == "free")
		})
	}
}

func checkTeamsFeatures(t *testing.T, consumer bool) {
	emu := teamsEmu
	kind := "work"
	if consumer {
		kind = "free"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	me := teamsAccount(t, consumer, "erin", "Erin Evans")
	bob := teamsAccount(t, consumer, "bob", "Bob Brown")
	carol := teamsAccount(t, consumer, "carol", "Carol Clark")
	bobGhost := teamsGhost(bob.MRI)

	user := newUser(t, ctx, "teamsfeat")
	mgmt := openManagementRoom(t, ctx, user)
	teamsLogin(t, ctx, user, mgmt, me, kind)

	// Teams → Matrix: formatting and a mention of the user.
	inviteMark, mark := user.InviteMark(), user.Mark()
	group := emu.CreateGroup(bob.MRI, "Release", me.MRI, carol.MRI)
	bobMsg := emu.SendWith(bob.MRI, group, `<p><b>Ship it</b> today, <span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Erin</span>?</p>`,
		teamsemu.SendOptions{Mentions: []string{me.MRI}})
	room := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, bobGhost, false)
	first := waitGhost(t, ctx, user, room, bobGhost, mark, "bob's formatted message with a mention", func(c *event.MessageEventContent) bool {
		return strings.Contains(c.Body, "Ship it")
	})
	fc := first.Event.Content.AsMessage()
	if !strings.Contains(fc.FormattedBody, "<b>Ship it</b>") && !strings.Contains(fc.FormattedBody, "<strong>Ship it</strong>") {
		t.Errorf("bold was lost on the way to Matrix: %q", fc.FormattedBody)
	}
	if !strings.Contains(fc.FormattedBody, "https://matrix.to/#/"+user.UserID.String()) {
		t.Errorf("the mention of the user is not a pill to them: %q", fc.FormattedBody)
	}
	if fc.Mentions == nil || len(fc.Mentions.UserIDs) != 1 || fc.Mentions.UserIDs[0] != user.UserID {
		t.Errorf("m.mentions = %+v, want the user", fc.Mentions)
	}
	target := first.Event.ID

	// Teams → Matrix: a reply to that message.
	replyText := "Or tomorrow morning."
	emu.Send(bob.MRI, group, `<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="`+bobMsg+`"><strong itemprop="mri" itemid="`+bob.MRI+`">Bob Brown</strong><span itemprop="time" itemid="`+bobMsg+`"></span><p itemprop="preview">Ship it today</p></blockquote><p>`+replyText+`</p>`)
	reply := waitGhost(t, ctx, user, room, bobGhost, mark, "bob's reply", func(c *event.MessageEventContent) bool {
		return strings.Contains(c.Body, replyText)
	})
	if got := reply.Event.Content.AsMessage().RelatesTo.GetReplyTo(); got != target {
		t.Errorf("bob's reply is in reply to %q in Matrix, want %s", got, target)
	}

	// Teams → Matrix: typing.
	emu.Typing(bob.MRI, group)
	waitTypingTeams(t, ctx, user, room, bobGhost)

	// Teams → Matrix: an edit.
	emu.Edit(group, bobMsg, "<p><b>Ship it</b> on Friday</p>")
	waitGhost(t, ctx, user, room, bobGhost, mark, "bob's edit", func(c *event.MessageEventContent) bool {
		return c.RelatesTo.GetReplaceID() == target && c.NewContent != nil && strings.Contains(c.NewContent.Body, "on Friday")
	})

	// Teams → Matrix: a reaction.
	emu.React(bob.MRI, group, bobMsg, "like")
	waitRoomEvent(t, ctx, user, room, "bob's 👍 on his message", func(evt *event.Event) bool {
		if evt.Type != event.EventReaction || evt.Sender != bobGhost {
			return false
		}
		rc := evt.Content.AsReaction()
		return rc.RelatesTo.EventID == target && strings.TrimSuffix(rc.RelatesTo.Key, "\ufe0f") == "👍"
	})

	// Matrix → Teams: a formatted reply with a mention of bob.
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "Bob Brown: fine by me", Format: event.FormatHTML,
		FormattedBody: `<a href="https://matrix.to/#/` + bobGhost.String() + `">Bob Brown</a>: <em>fine</em> by me`,
		Mentions:      &event.Mentions{UserIDs: []id.UserID{bobGhost}},
		RelatesTo:     (&event.RelatesTo{}).SetReplyTo(target)}
	mine, err := user.SendMessageEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatalf("send the formatted reply: %v", err)
	}
	sent := waitTeams(t, group, "the user's formatted reply", func(m teamsemu.Message) bool {
		return m.From == me.MRI && strings.Contains(m.Content, "fine")
	})
	if !strings.Contains(sent.Content, "<em>fine</em>") {
		t.Errorf("formatting lost on the way to Teams: %q", sent.Content)
	}
	if !strings.Contains(sent.Content, "http://schema.skype.com/Mention") {
		t.Errorf("the mention of bob is not a Teams mention: %q", sent.Content)
	}
	if raw, _ := json.Marshal(sent.Properties["mentions"]); !strings.Contains(string(raw), bob.MRI) {
		t.Errorf("properties.mentions %s does not name bob", raw)
	}
	if !strings.Contains(sent.Content, "http://schema.skype.com/Reply") || !strings.Contains(sent.Content, bobMsg) {
		t.Errorf("the reply is not a Teams reply to %s: %q", bobMsg, sent.Content)
	}

	// Teams → Matrix: bob reads the user's reply; his ghost's read receipt
	// must point at it. The connector polls the others' read positions
	// (every second in these tests), so the check comes after the steps
	// below.
	receipts := watchReceipts(t, ctx, user, room)
	emu.Read(bob.MRI, group, sent.ID)

	// Matrix → Teams: typing and a read receipt.
	if err := user.SetTyping(ctx, room, true); err != nil {
		t.Fatal(err)
	}
	waitTeams(t, group, "the user's typing", nil, func() bool {
		for _, ty := range emu.TypingEvents() {
			if ty.From == me.MRI && ty.Conversation == group && !ty.Clear {
				return true
			}
		}
		return false
	})
	if err := user.SetTyping(ctx, room, false); err != nil {
		t.Fatal(err)
	}
	if err := user.MarkRead(ctx, room, reply.Event.ID); err != nil {
		t.Fatalf("send a read receipt: %v", err)
	}
	replyMsg := waitTeams(t, group, "bob's reply in Teams", func(m teamsemu.Message) bool {
		return m.From == bob.MRI && strings.Contains(m.Content, replyText)
	})
	waitTeams(t, group, "the user's consumption horizon", nil, func() bool {
		return strings.HasPrefix(emu.Horizon(me.MRI, group), replyMsg.ID+";")
	})

	// Matrix → Teams: an edit, a reaction, its removal and a deletion.
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "* fine by me, ship Friday",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "fine by me, ship Friday"},
		RelatesTo:  (&event.RelatesTo{}).SetReplace(mine.EventID)}
	if _, err := user.SendMessageEvent(ctx, room, event.EventMessage, edit); err != nil {
		t.Fatalf("send the edit: %v", err)
	}
	waitTeams(t, group, "the user's edit", func(m teamsemu.Message) bool {
		return m.ID == sent.ID && m.Edited && strings.Contains(m.Content, "ship Friday")
	})
	react, err := user.SendMessageEvent(ctx, room, event.EventReaction, &event.ReactionEventContent{RelatesTo: event.RelatesTo{
		Type: event.RelAnnotation, EventID: target, Key: "❤️"}})
	if err != nil {
		t.Fatalf("send the reaction: %v", err)
	}
	waitTeams(t, group, "the user's heart on bob's message", func(m teamsemu.Message) bool {
		return m.ID == bobMsg && len(m.Reactions["heart"]) == 1 && m.Reactions["heart"][0] == me.MRI
	})
	if _, err := user.RedactEvent(ctx, room, react.EventID); err != nil {
		t.Fatalf("redact the reaction: %v", err)
	}
	waitTeams(t, group, "the user's heart removed", func(m teamsemu.Message) bool {
		return m.ID == bobMsg && len(m.Reactions["heart"]) == 0
	})
	receipts.wait(t, ctx, bobGhost, mine.EventID)
	if _, err := user.RedactEvent(ctx, room, mine.EventID); err != nil {
		t.Fatalf("redact the message: %v", err)
	}
	waitTeams(t, group, "the user's message deleted", func(m teamsemu.Message) bool {
		return m.ID == sent.ID && m.Deleted
	})

	// Teams → Matrix: a deletion.
	emu.Delete(group, bobMsg)
	waitRoomEvent(t, ctx, user, room, "the redaction of bob's deleted message", func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && (evt.Redacts == target || evt.Content.AsRedaction().Redacts == target)
	})

	// Images, files and videos both ways.
	checkTeamsMedia(t, ctx, user, room, group, me, bob)

	// Nothing the user did came back to Matrix as a message from a ghost of
	// theirs, and the user's one message is in Teams once.
	n := 0
	for _, m := range emu.Messages(group) {
		if m.From == me.MRI && !strings.HasPrefix(m.MessageType, "ThreadActivity/") {
			n++
		}
	}
	if n != 4 {
		t.Errorf("Teams has %d messages from the user in the group, want 4 (a text, an image, a file, a video): %s", n, describeTeams(group))
	}
	meGhost := teamsGhost(me.MRI)
	for _, r := range user.Messages(room, mark) {
		if r.Event.Sender == meGhost {
			t.Errorf("an echo of the user's own message came back as %q from their ghost", r.Event.Content.AsMessage().Body)
		}
	}
}

// waitGhost waits for a message from ghost matching match and checks it
// arrived encrypted.
func waitGhost(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, ghost id.UserID, mark int, what string, match func(*event.MessageEventContent) bool) *mxclient.Received {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	got, err := cli.WaitForMessage(wctx, room, ghost, mark, match)
	if err != nil {
		t.Fatalf("%s did not reach Matrix: %v", what, err)
	}
	if !got.Encrypted {
		t.Errorf("%s arrived unencrypted in the encrypted portal", what)
	}
	return got
}

func waitTypingTeams(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, ghost id.UserID) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	if err := cli.WaitForTyping(wctx, room, ghost, true); err != nil {
		t.Errorf("Teams typing did not show as the ghost's typing in Matrix: %v", err)
	}
}

// waitTeams waits until a message of conv matches match (or, with match
// nil, until cond holds) and returns the message.
func waitTeams(t *testing.T, conv, what string, match func(teamsemu.Message) bool, cond ...func() bool) teamsemu.Message {
	t.Helper()
	var found teamsemu.Message
	ok := teamsEmu.WaitFor(teamsStepTimeout, func() bool {
		if match == nil {
			return cond[0]()
		}
		for _, m := range teamsEmu.Messages(conv) {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("timed out waiting for %s on the Teams side; %s has %s", what, conv, describeTeams(conv))
	}
	return found
}

// waitRoomEvent reads the room's timeline from the homeserver (newest
// first, decrypting what is encrypted) until an event matches: the test
// client records only messages as they sync, not reactions or redactions.
func waitRoomEvent(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, what string, match func(*event.Event) bool) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var seen []string
	for {
		resp, err := cli.Client.Messages(wctx, room, "", "", mautrix.DirectionBackward, nil, 50)
		if err == nil {
			seen = seen[:0]
			for _, evt := range resp.Chunk {
				evt.RoomID = room
				if evt.Type == event.EventEncrypted {
					if err := evt.Content.ParseRaw(evt.Type); err != nil {
						continue
					}
					dec, err := cli.Crypto.Decrypt(wctx, evt)
					if err != nil {
						seen = append(seen, fmt.Sprintf("%s undecryptable: %v", evt.ID, err))
						continue
					}
					evt = dec
				}
				_ = evt.Content.ParseRaw(evt.Type)
				if match(evt) {
					return
				}
				seen = append(seen, fmt.Sprintf("%s %s from %s", evt.ID, evt.Type.Type, evt.Sender))
			}
		}
		select {
		case <-wctx.Done():
			t.Fatalf("%s did not reach Matrix (last error %v); newest events: %s", what, err, strings.Join(seen, "; "))
		case <-tick.C:
		}
	}
}

// receiptWatch follows one room's receipts through its own incremental
// sync: the test client's sync loop does not record receipts, and an
// initial sync carries only some of them.
type receiptWatch struct {
	cli    *mxclient.Client
	room   id.RoomID
	filter string
	since  string
}

// watchReceipts starts following room's receipts from now on.
func watchReceipts(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID) *receiptWatch {
	t.Helper()
	w := &receiptWatch{cli: cli, room: room,
		filter: fmt.Sprintf(`{"room":{"rooms":[%q],"timeline":{"limit":1},"state":{"lazy_load_members":true}},"presence":{"types":[]},"account_data":{"types":[]}}`, room)}
	resp, err := cli.Client.SyncRequest(ctx, 0, "", w.filter, false, "")
	if err != nil {
		t.Fatalf("start following receipts: %v", err)
	}
	w.since = resp.NextBatch
	return w
}

// wait waits until reader's read receipt on target arrives.
func (w *receiptWatch) wait(t *testing.T, ctx context.Context, reader id.UserID, target id.EventID) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	var seen []string
	for {
		resp, err := w.cli.Client.SyncRequest(wctx, 1000, w.since, w.filter, false, "")
		if err != nil {
			t.Fatalf("%s's read receipt on %s did not reach Matrix (%v); receipts seen: %s", reader, target, err, strings.Join(seen, "; "))
		}
		w.since = resp.NextBatch
		jr := resp.Rooms.Join[w.room]
		if jr == nil {
			continue
		}
		for _, evt := range jr.Ephemeral.Events {
			if evt.Type != event.EphemeralEventReceipt {
				continue
			}
			_ = evt.Content.ParseRaw(evt.Type)
			rc := evt.Content.AsReceipt()
			if rc == nil {
				continue
			}
			if _, ok := (*rc)[target][event.ReceiptTypeRead][reader]; ok {
				return
			}
			raw, _ := json.Marshal(rc)
			seen = append(seen, string(raw))
		}
	}
}
