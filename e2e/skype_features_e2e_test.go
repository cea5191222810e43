//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// TestSkypeFeaturesBothWays checks, in an encrypted group chat portal, that
// formatting, a mention, a reply (quote), an edit, a deletion, an emoticon,
// a /me action, an image and a file each cross from Skype to Matrix and from
// Matrix to Skype; that typing and read markers cross both ways; that the
// group's members and topic stay in sync both ways; and that a notice sent
// from Matrix reaches Skype marked as one.
func TestSkypeFeaturesBothWays(t *testing.T) {
	requireEnv(t)
	if skypeEmu == nil {
		t.Fatal("the Skype emulator was not started by the set-up hook")
	}
	emu := skypeEmu
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	me := skypeAccount(t, "live:erin", "Erin Evans")
	bob := skypeAccount(t, "bob.", "Bob Brown")
	alice := skypeAccount(t, "alice.", "Alice Adams")
	frank := skypeAccount(t, "frank.", "Frank Foster")
	bobGhost, aliceGhost, frankGhost := skypeGhost(bob.Name), skypeGhost(alice.Name), skypeGhost(frank.Name)

	user := newUser(t, ctx, "skypefeat")
	mgmt := openManagementRoom(t, ctx, user)
	skypeLogin(t, ctx, user, mgmt, me)

	// Skype → Matrix: formatting, a mention of the user and an emoticon.
	inviteMark, mark := user.InviteMark(), user.Mark()
	group := emu.CreateGroup(bob.Name, "Release", me.Name, alice.Name)
	bobMsg := emu.Send(bob.Name, group, `<b raw_pre="*" raw_post="*">Ship it</b> today, <at id="`+me.MRI()+`">Erin</at>? <ss type="smile">:)</ss>`)
	room := joinChatPortal(t, ctx, user, inviteMark, mgmt, bobGhost, false, skypeStepTimeout)
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
	if !strings.Contains(fc.Body, "🙂") && !strings.Contains(fc.Body, "😊") {
		t.Errorf("the emoticon did not become an emoji: %q", fc.Body)
	}
	target := first.Event.ID
	bobCMID := skypeClientID(me.Name, group, bobMsg)

	// Skype → Matrix: a quote of that message becomes a reply.
	replyText := "Or tomorrow morning."
	emu.Send(bob.Name, group, `<quote author="`+bob.Name+`" authorname="`+bob.Display+`" conversation="`+group+`" timestamp="1" messageid="`+bobCMID+
		`"><legacyquote>[1] Bob Brown: </legacyquote>Ship it today<legacyquote>&lt;&lt;&lt; </legacyquote></quote>`+replyText)
	reply := waitGhost(t, ctx, user, room, bobGhost, mark, "bob's quote", func(c *event.MessageEventContent) bool {
		return strings.Contains(c.Body, replyText)
	})
	if got := reply.Event.Content.AsMessage().RelatesTo.GetReplyTo(); got != target {
		t.Errorf("bob's quote is in reply to %q in Matrix, want %s", got, target)
	}

	// Skype → Matrix: a /me action.
	bobAPI := skypeClient(t, ctx, bob)
	if _, err := bobAPI.Send(ctx, group, skypeapi.Outgoing{Content: "waves", Emote: true, DisplayName: bob.Display}); err != nil {
		t.Fatalf("send bob's /me: %v", err)
	}
	emote := waitGhost(t, ctx, user, room, bobGhost, mark, "bob's /me", func(c *event.MessageEventContent) bool {
		return strings.Contains(c.Body, "waves")
	}).Event.Content.AsMessage()
	if emote.MsgType != event.MsgEmote || strings.TrimSpace(emote.Body) != "waves" {
		t.Errorf("bob's /me arrived as %s %q, want m.emote \"waves\"", emote.MsgType, emote.Body)
	}

	// Skype → Matrix: typing.
	emu.Typing(bob.Name, group)
	wctx, wcancel := context.WithTimeout(ctx, skypeStepTimeout)
	if err := user.WaitForTyping(wctx, room, bobGhost, true); err != nil {
		t.Errorf("Skype typing did not show as the ghost's typing in Matrix: %v", err)
	}
	wcancel()

	// Skype → Matrix: an edit.
	emu.Edit(bob.Name, group, bobMsg, `<b raw_pre="*" raw_post="*">Ship it</b> on Friday`)
	waitGhost(t, ctx, user, room, bobGhost, mark, "bob's edit", func(c *event.MessageEventContent) bool {
		return c.RelatesTo.GetReplaceID() == target && c.NewContent != nil && strings.Contains(c.NewContent.Body, "on Friday")
	})

	// Matrix → Skype: a formatted reply with a mention of bob.
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "Bob Brown: fine by me", Format: event.FormatHTML,
		FormattedBody: `<a href="https://matrix.to/#/` + bobGhost.String() + `">Bob Brown</a>: <em>fine</em> by me`,
		Mentions:      &event.Mentions{UserIDs: []id.UserID{bobGhost}},
		RelatesTo:     (&event.RelatesTo{}).SetReplyTo(target)}
	mine, err := user.SendMessageEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatalf("send the formatted reply: %v", err)
	}
	sent := waitSkype(t, me.Name, group, "the user's formatted reply", func(m skypeemu.Message) bool {
		return m.From == me.MRI() && m.EditedID == "" && strings.Contains(m.Content, "fine")
	})
	if !strings.Contains(sent.Content, "<i") || !strings.Contains(sent.Content, "fine</i>") {
		t.Errorf("italics lost on the way to Skype: %q", sent.Content)
	}
	if !strings.Contains(sent.Content, `<at id="`+bob.MRI()+`">`) || sent.HasMentions != "true" {
		t.Errorf("the mention of bob is not a Skype mention: %q (Has-Mentions %q)", sent.Content, sent.HasMentions)
	}
	if !strings.Contains(sent.Content, "<quote") || !strings.Contains(sent.Content, `messageid="`+bobCMID+`"`) {
		t.Errorf("the reply is not a Skype quote of %s: %q", bobCMID, sent.Content)
	}

	// Skype → Matrix: bob reads the user's reply; his ghost's read receipt
	// must point at it (checked after the next steps: it may be polled).
	receipts := watchReceipts(t, ctx, user, room)
	emu.Read(bob.Name, group, sent.ID)

	// Matrix → Skype: typing and a read receipt.
	if err := user.SetTyping(ctx, room, true); err != nil {
		t.Fatal(err)
	}
	if !waitSkypeCond(func() bool {
		for _, ty := range emu.TypingEvents() {
			if ty.From == me.MRI() && ty.Conv == group && !ty.Stop {
				return true
			}
		}
		return false
	}) {
		t.Errorf("the user's typing never reached Skype: %+v", emu.TypingEvents())
	}
	if err := user.SetTyping(ctx, room, false); err != nil {
		t.Fatal(err)
	}
	if err := user.MarkRead(ctx, room, reply.Event.ID); err != nil {
		t.Fatalf("send a read receipt: %v", err)
	}
	replyMsg := waitSkype(t, me.Name, group, "bob's quote on Skype", func(m skypeemu.Message) bool {
		return m.From == bob.MRI() && strings.Contains(m.Content, replyText)
	})
	if !waitSkypeCond(func() bool { return strings.HasPrefix(emu.Horizon(me.Name, group), replyMsg.ClientMessageID+";") }) {
		t.Errorf("the user's consumption horizon is %q, want it at bob's quote %s", emu.Horizon(me.Name, group), replyMsg.ClientMessageID)
	}

	// Matrix → Skype: an edit and a deletion.
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "* fine by me, ship Friday",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "fine by me, ship Friday"},
		RelatesTo:  (&event.RelatesTo{}).SetReplace(mine.EventID)}
	if _, err := user.SendMessageEvent(ctx, room, event.EventMessage, edit); err != nil {
		t.Fatalf("send the edit: %v", err)
	}
	waitSkype(t, me.Name, group, "the user's edit", func(m skypeemu.Message) bool {
		return m.ID == sent.ID && m.Edited && strings.Contains(m.Content, "ship Friday")
	})
	receipts.wait(t, ctx, bobGhost, mine.EventID)
	if _, err := user.RedactEvent(ctx, room, mine.EventID); err != nil {
		t.Fatalf("redact the message: %v", err)
	}
	waitSkype(t, me.Name, group, "the user's message deleted", func(m skypeemu.Message) bool {
		return m.ID == sent.ID && m.Deleted
	})

	// Skype → Matrix: a deletion.
	emu.Delete(bob.Name, group, bobMsg)
	waitRoomEvent(t, ctx, user, room, "the redaction of bob's deleted message", func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && (evt.Redacts == target || evt.Content.AsRedaction().Redacts == target)
	})

	// Matrix → Skype: an emoticon (emoji) and a /me action.
	if _, err := user.SendText(ctx, room, "great 🙂 [emoji]"); err != nil {
		t.Fatal(err)
	}
	waitSkype(t, me.Name, group, "the user's emoji", func(m skypeemu.Message) bool {
		return m.From == me.MRI() && strings.Contains(m.Content, "[emoji]") && strings.Contains(m.Content, "🙂")
	})
	if _, err := user.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgEmote, Body: "cheers"}); err != nil {
		t.Fatal(err)
	}
	emoteSent := waitSkype(t, me.Name, group, "the user's /me", func(m skypeemu.Message) bool {
		return m.From == me.MRI() && strings.Contains(m.Content, "cheers")
	})
	if emoteSent.Content != me.Display+" cheers" || emoteSent.EmoteOffset != "11" {
		t.Errorf("the user's /me reached Skype as %q (skypeemoteoffset %q), want %q at 11", emoteSent.Content, emoteSent.EmoteOffset, me.Display+" cheers")
	}

	// Matrix → Skype: a notice (a bot's or the user's) is marked as one.
	if _, err := user.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "Build 42 passed [notice]"}); err != nil {
		t.Fatal(err)
	}
	notice := waitSkype(t, me.Name, group, "the user's notice", func(m skypeemu.Message) bool {
		return m.From == me.MRI() && strings.Contains(m.Content, "[notice]")
	})
	if teamsPlain(notice.Content) != "ℹ️ Build 42 passed [notice]" {
		t.Errorf("the notice reached Skype as %q, want it marked with ℹ️", notice.Content)
	}

	// Images and files both ways.
	checkSkypeMedia(t, ctx, user, room, group, me, bob, bobAPI)

	// Group membership and topic, both ways.
	mmark := user.Mark()
	emu.AddMember(bob.Name, group, frank.Name)
	if err := waitMembership(ctx, user, room, frankGhost, event.MembershipJoin); err != nil {
		t.Errorf("frank, added on Skype, did not join the portal: %v", err)
	}
	emu.RemoveMember(bob.Name, group, alice.Name)
	if err := waitMembership(ctx, user, room, aliceGhost, event.MembershipLeave); err != nil {
		t.Errorf("alice, removed on Skype, is still in the portal: %v", err)
	}
	emu.SetTopic(bob.Name, group, "Release 2.0")
	waitRoomName(t, ctx, user, room, "Release 2.0", "the topic set on Skype")
	if _, err := user.Client.SendStateEvent(ctx, room, event.StateRoomName, "", &event.RoomNameEventContent{Name: "Release 2.1"}); err != nil {
		t.Fatalf("rename the portal: %v", err)
	}
	if !waitSkypeCond(func() bool { return emu.Topic(group) == "Release 2.1" }) {
		t.Errorf("the portal's new name did not become the Skype topic: %q", emu.Topic(group))
	}
	if _, err := user.Client.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: aliceGhost}); err != nil {
		t.Fatalf("invite alice's ghost back: %v", err)
	}
	if !waitSkypeCond(func() bool { _, ok := emu.Members(group)[alice.MRI()]; return ok }) {
		t.Errorf("alice, invited back from Matrix, is not a member of the Skype group: %v", emu.Members(group))
	}
	if err := waitMembership(ctx, user, room, aliceGhost, event.MembershipJoin); err != nil {
		t.Errorf("alice, invited back from Matrix, did not join the portal: %v", err)
	}
	frankText := "Hi all, frank here [frank]"
	emu.Send(frank.Name, group, frankText)
	waitGhostMessage(t, ctx, user, room, frankGhost, mmark, frankText, "the new member's message")
	checkGhostName(t, ctx, user, room, frankGhost, frank.Display)

	// Nothing the user did came back to Matrix from their own ghost.
	meGhost := skypeGhost(me.Name)
	for _, r := range user.Messages(room, mark) {
		if r.Event.Sender == meGhost {
			t.Errorf("an echo of the user's own message came back as %q from their ghost", r.Event.Content.AsMessage().Body)
		}
	}
}

func waitMembership(ctx context.Context, cli *mxclient.Client, room id.RoomID, user id.UserID, m event.Membership) error {
	wctx, cancel := context.WithTimeout(ctx, skypeStepTimeout)
	defer cancel()
	return cli.WaitForMembership(wctx, room, user, m)
}

// checkSkypeMedia: an image and a file from sender reach the user in the
// encrypted portal with their bytes, and an image and a file from Matrix
// reach Skype as URIObject messages whose ASM objects hold the bytes.
func checkSkypeMedia(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, conv string, me, sender skypePerson, senderAPI *skypeapi.Client) {
	t.Helper()
	emu := skypeEmu
	ghost := skypeGhost(sender.Name)
	mark := cli.Mark()
	readers := []string{me.MRI(), sender.MRI()}
	for mri := range emu.Members(conv) {
		readers = append(readers, mri)
	}

	png := []byte("\x89PNG\r\n\x1a\nan e2e image payload")
	if _, err := senderAPI.SendFile(ctx, conv, true, "cat.png", png, readers); err != nil {
		t.Fatalf("send the Skype image: %v", err)
	}
	got := waitGhost(t, ctx, cli, room, ghost, mark, "the Skype image", func(c *event.MessageEventContent) bool { return c.MsgType == event.MsgImage })
	checkMatrixMedia(t, ctx, cli, got.Event.Content.AsMessage(), png, "the Skype image")

	pdf := []byte("%PDF-1.4 an e2e file payload")
	if _, err := senderAPI.SendFile(ctx, conv, false, "q3.pdf", pdf, readers); err != nil {
		t.Fatalf("send the Skype file: %v", err)
	}
	got = waitGhost(t, ctx, cli, room, ghost, mark, "the Skype file", func(c *event.MessageEventContent) bool { return c.MsgType == event.MsgFile })
	fc := got.Event.Content.AsMessage()
	if fc.Body != "q3.pdf" && fc.FileName != "q3.pdf" {
		t.Errorf("the Skype file is named %q/%q in Matrix, want q3.pdf", fc.Body, fc.FileName)
	}
	checkMatrixMedia(t, ctx, cli, fc, pdf, "the Skype file")

	sendMatrixMedia(t, ctx, cli, room, event.MsgImage, "dog.png", "image/png", png)
	m := waitSkype(t, me.Name, conv, "the Matrix image", func(m skypeemu.Message) bool {
		return m.From == me.MRI() && m.Type == skypeapi.TypeImage
	})
	if len(m.AMSRefs) != 1 {
		t.Fatalf("the Matrix image reached Skype with ASM references %v, want one", m.AMSRefs)
	}
	if data, _, ok := emu.Object(m.AMSRefs[0]); !ok || !bytes.Equal(data, png) {
		t.Errorf("ASM holds %q for the Matrix image, want its bytes", data)
	}
	report := []byte("an e2e report body")
	sendMatrixMedia(t, ctx, cli, room, event.MsgFile, "report.txt", "text/plain", report)
	m = waitSkype(t, me.Name, conv, "the Matrix file", func(m skypeemu.Message) bool {
		return m.From == me.MRI() && m.Type == skypeapi.TypeFile
	})
	if len(m.AMSRefs) != 1 {
		t.Fatalf("the Matrix file reached Skype with ASM references %v, want one", m.AMSRefs)
	}
	data, name, ok := emu.Object(m.AMSRefs[0])
	if !ok || name != "report.txt" || !bytes.Equal(data, report) {
		t.Errorf("ASM holds %q named %q for the Matrix file, want %q named report.txt", data, name, report)
	}
	if !strings.Contains(m.Content, "report.txt") {
		t.Errorf("the Matrix file's URIObject does not name it: %q", m.Content)
	}
}
