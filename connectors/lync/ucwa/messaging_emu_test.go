package ucwa_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

func TestIncomingConversation(t *testing.T) {
	t.Parallel()
	// The accept link carries a sessionContext the server checks: the
	// client must post the href exactly as given.
	e := newEnvWith(t, ucwaemu.Options{SessionContextOnAccept: true}, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, acceptInvitations(c))
	ctx := ctxT(t)
	bobPeer := e.emu.Peer(bob)
	th, err := bobPeer.SendIM(alice, "Hello.. This is Bob Here..")
	if err != nil {
		t.Fatal(err)
	}

	invEv := l.waitEvent(is("messagingInvitation", ucwa.EventStarted))
	inv, _ := invEv.Event.MessagingInvitation()
	if !strings.Contains(inv.Links.Href("accept"), "/accept?sessionContext=") {
		t.Fatalf("accept href %q", inv.Links.Href("accept"))
	}
	first, ok, err := inv.FirstMessage()
	if !ok || err != nil || first.Plain != "Hello.. This is Bob Here.." || inv.ThreadID != th {
		t.Fatalf("invitation %+v: %v %v", first, ok, err)
	}
	msgEv := connectedMessaging(t, l)
	// Real servers repeat the first message as a message event.
	l.waitEvent(incomingText("Hello.. This is Bob Here.."))

	op := "op-reply-1"
	loc, err := c.SendMessage(ctx, msgEv, "Hi Bob", false, op)
	if err != nil || !strings.Contains(loc, "/messaging/messages/") {
		t.Fatalf("send: %q %v", loc, err)
	}
	out := l.waitEvent(func(se ucwa.SenderEvent) bool {
		m, err := se.Event.Message()
		return err == nil && m.Direction == ucwa.DirectionOutgoing
	})
	if m, _ := out.Event.Message(); m.OperationID != op || m.HasBody() || out.Event.IsIncomingMessage() {
		t.Fatalf("outgoing echo %+v", m)
	}
	got, err := e.emu.WaitReceived(ctx, bob, 1)
	if err != nil || got[0].Text != "Hi Bob" || got[0].OperationID != op || got[0].ThreadID != th {
		t.Fatalf("bob got %+v %v", got, err)
	}
	if _, err := c.SendMessage(ctx, msgEv, "<b>bold</b>", true, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.emu.WaitReceived(ctx, bob, 2); got[1].HTML != "<b>bold</b>" {
		t.Fatalf("html %+v", got[1])
	}

	if err := bobPeer.Typing(th, true); err != nil {
		t.Fatal(err)
	}
	typing := l.waitEvent(func(se ucwa.SenderEvent) bool {
		return se.Event.In != nil && se.Event.In.Rel == "typingParticipants" && se.Event.Type == ucwa.EventAdded
	})
	if typing.Event.Link.Title != "Bob Example" {
		t.Fatalf("typing %+v", typing.Event)
	}
	if err := c.SetIsTyping(ctx, msgEv); err != nil || e.emu.TypingCount(alice) != 1 {
		t.Fatalf("set typing: %v", err)
	}

	convs, err := c.Conversations(ctx)
	if err != nil || len(convs) != 1 || convs[0].ThreadID != th || convs[0].State != "Connected" {
		t.Fatalf("conversations %+v %v", convs, err)
	}
	parts, err := c.Participants(ctx, &convs[0])
	if err != nil || len(parts) != 1 || parts[0].URI != bob {
		t.Fatalf("participants %+v %v", parts, err)
	}
	conv, err := c.Conversation(ctx, convs[0].Self())
	if err != nil || conv.ThreadID != th {
		t.Fatalf("conversation %+v %v", conv, err)
	}
	msg, err := c.Messaging(ctx, conv.Links.Href("messaging"))
	if err != nil || msg.State != "Connected" || msg.NegotiatedMessageFormats[len(msg.NegotiatedMessageFormats)-1] != "Html" {
		t.Fatalf("messaging %+v %v", msg, err)
	}
	if i, err := c.Invitation(ctx, invEv.Event.Link.Href); err != nil || i.State != "Connected" {
		t.Fatalf("invitation %+v %v", i, err)
	}

	if err := c.StopMessaging(ctx, msgEv); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(is("conversation", ucwa.EventDeleted))
	if bobPeer.ThreadWith(alice) != "" {
		t.Fatal("conversation still open for bob")
	}
}

// connectedMessaging waits for messaging to connect and returns it.
func connectedMessaging(t *testing.T, l *loop) *ucwa.Messaging {
	t.Helper()
	return messagingOf(t, l.waitEvent(connected))
}

func TestDeclineInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, func(ctx context.Context, u ucwa.Update) error {
		if u.Batch == nil {
			return nil
		}
		for _, se := range u.Batch.All() {
			if inv, err := se.Event.MessagingInvitation(); err == nil && se.Event.Type == ucwa.EventStarted {
				return c.Decline(ctx, inv, "")
			}
		}
		return nil
	})
	if _, err := e.emu.Peer(bob).SendIM(alice, "spam"); err != nil {
		t.Fatal(err)
	}
	done := l.waitEvent(is("messagingInvitation", ucwa.EventCompleted))
	if done.Event.Status != ucwa.StatusFailure || done.Event.Reason.Subcode != "Declined" {
		t.Fatalf("declined %+v", done.Event)
	}
	if sent := e.emu.Sent(bob); !sent[0].Failed {
		t.Fatal("bob not told")
	}
}

func TestOutgoingConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, nil)
	ctx := ctxT(t)
	loc, err := c.StartMessaging(ctx, ucwa.StartMessagingRequest{To: bob, Subject: "Plans", OperationID: "start-1", Message: "Hi Bob & co"})
	if err != nil || !strings.Contains(loc, "/messagingInvitations/") {
		t.Fatalf("start: %q %v", loc, err)
	}
	done := l.waitEvent(is("messagingInvitation", ucwa.EventCompleted))
	inv, _ := done.Event.MessagingInvitation()
	if done.Event.Status != ucwa.StatusSuccess || inv.OperationID != "start-1" || inv.Direction != ucwa.DirectionOutgoing {
		t.Fatalf("completed %+v %+v", done.Event, inv)
	}
	if got := e.emu.Received(bob); len(got) != 1 || got[0].Text != "Hi Bob & co" || got[0].Subject != "Plans" {
		t.Fatalf("bob got %+v", got)
	}
	conv, err := c.Conversation(ctx, inv.Links.Href("conversation"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddParticipant(ctx, conv, carol, "add-carol"); err != nil {
		t.Fatal(err)
	}
	pinv := l.waitEvent(is("participantInvitation", ucwa.EventCompleted))
	if pinv.Event.Status != ucwa.StatusSuccess {
		t.Fatalf("add participant %+v", pinv.Event)
	}
	msg, err := c.Messaging(ctx, conv.Links.Href("messaging"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(ctx, msg, "to both", false, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := e.emu.WaitReceived(ctx, carol, 1); err != nil || got[0].Text != "to both" {
		t.Fatalf("carol %+v %v", got, err)
	}

	// A colleague who never answers can be cancelled.
	if err := e.emu.Peer(carol).SetPolicy(ucwaemu.PolicyManual); err != nil {
		t.Fatal(err)
	}
	loc, err = c.StartMessaging(ctx, ucwa.StartMessagingRequest{To: carol, Message: "ping", HTML: true})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := c.Invitation(ctx, loc)
	if err != nil || pending.State != "Connecting" {
		t.Fatalf("pending %+v %v", pending, err)
	}
	if err := c.Cancel(ctx, pending); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(func(se ucwa.SenderEvent) bool {
		return is("messagingInvitation", ucwa.EventCompleted)(se) && se.Event.Link.Href == pending.Self() && se.Event.Reason != nil && se.Event.Reason.Subcode == "Canceled"
	})
	if len(e.emu.Peer(carol).PendingInvitations()) != 0 {
		t.Fatal("carol still invited")
	}

	// Errors come back typed.
	_, err = c.StartMessaging(ctx, ucwa.StartMessagingRequest{To: "bob@contoso.com"})
	var uerr *ucwa.Error
	if !errors.As(err, &uerr) || uerr.StatusCode != 400 || uerr.Subcode != "ParameterValidationFailure" {
		t.Fatalf("bad recipient: %v", err)
	}
	if _, err := c.StartMessaging(ctx, ucwa.StartMessagingRequest{}); err == nil {
		t.Fatal("empty recipient accepted")
	}
	if err := c.Accept(ctx, &ucwa.MessagingInvitation{}); !errors.Is(err, ucwa.ErrNoLink) {
		t.Fatalf("accept without link: %v", err)
	}
}

func TestAddMessagingAfterPeerLeft(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, acceptInvitations(c))
	ctx := ctxT(t)
	th, _ := e.emu.Peer(bob).SendIM(alice, "brb")
	connectedMessaging(t, l)
	if err := e.emu.Peer(bob).Leave(th); err != nil {
		t.Fatal(err)
	}
	disc := l.waitEvent(func(se ucwa.SenderEvent) bool {
		m, err := se.Event.Messaging()
		return err == nil && m.State == "Disconnected"
	})
	if _, err := c.AddMessaging(ctx, messagingOf(t, disc), "back?", false, "again"); err != nil {
		t.Fatal(err)
	}
	connectedMessaging(t, l)
	if got, _ := e.emu.WaitReceived(ctx, bob, 1); got[0].Text != "back?" || got[0].ThreadID != th {
		t.Fatalf("bob got %+v", got)
	}
}

func TestSeed002ReplayThroughClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	if err := e.emu.ReplaySeed002(appID(c)); err != nil {
		t.Fatal(err)
	}
	l := run(t, c, nil)
	invEv := l.waitEvent(is("messagingInvitation", ucwa.EventStarted))
	inv, _ := invEv.Event.MessagingInvitation()
	from, _ := inv.From()
	first, _, _ := inv.FirstMessage()
	if from.Name != ucwaemu.SeedPeerName || first.Plain != ucwaemu.SeedFirstMessage {
		t.Fatalf("replayed invitation %+v %+v", from, first)
	}
	done := l.waitEvent(is("messagingInvitation", ucwa.EventCompleted))
	if done.Event.Status != ucwa.StatusFailure || done.Event.Reason.Message != "Your invitation was declined." {
		t.Fatalf("replayed decline %+v", done.Event)
	}
	l.waitEvent(is("conversation", ucwa.EventDeleted))
	contact, err := c.Contact(ctxT(t), from.Links.Href("contact"))
	if err != nil || contact.Name != ucwaemu.SeedPeerName {
		t.Fatalf("contact %+v %v", contact, err)
	}
}

func TestPeopleAndPresence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, who := range []string{bob, carol} {
		if err := e.emu.AddContact(alice, who); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.emu.SetPresence(bob, "Away"); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn(t, e.config())
	ctx := ctxT(t)
	contacts, err := c.Contacts(ctx)
	if err != nil || len(contacts) != 2 || contacts[0].URI != bob || contacts[0].Name != "Bob Example" {
		t.Fatalf("contacts %+v %v", contacts, err)
	}
	pres, err := c.ContactPresence(ctx, contacts[0].Links.Href("contactPresence"))
	if err != nil || pres.Availability != "Away" {
		t.Fatalf("presence %+v %v", pres, err)
	}
	photo, ct, err := c.Photo(ctx, contacts[0].Links.Href("contactPhoto"))
	if err != nil || ct != "image/png" || !strings.HasPrefix(string(photo), "\x89PNG") {
		t.Fatalf("photo %q %q %v", photo, ct, err)
	}
	found, err := c.Search(ctx, "carol", 5)
	if err != nil || len(found) != 1 || found[0].URI != carol {
		t.Fatalf("search %+v %v", found, err)
	}
	contact, err := c.Contact(ctx, found[0].Self())
	if err != nil || contact.Name != "Carol Example" {
		t.Fatalf("contact %+v %v", contact, err)
	}
	if err := c.SetPresence(ctx, "Busy"); err != nil {
		t.Fatal(err)
	}
	if own, err := c.Presence(ctx); err != nil || own.Availability != "Busy" {
		t.Fatalf("own presence %+v %v", own, err)
	}
	if err := c.ReportMyActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.KeepAlive(ctx, 0); err == nil {
		t.Fatal("zero keep-alive interval accepted")
	}
	kctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.KeepAlive(kctx, ucwa.MaxKeepAliveInterval); !errors.Is(err, context.Canceled) {
		t.Fatalf("keep-alive: %v", err)
	}
	// makeMeAvailable twice is harmless.
	if err := c.MakeMeAvailable(ctx, ucwa.AvailabilityOptions{}); err != nil {
		t.Fatal(err)
	}
}
