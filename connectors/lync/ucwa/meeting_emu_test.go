package ucwa_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// acceptMeetings accepts every incoming online meeting invitation.
func acceptMeetings(c *ucwa.Client) func(context.Context, ucwa.Update) error {
	return func(ctx context.Context, u ucwa.Update) error {
		if u.Batch == nil {
			return nil
		}
		for _, se := range u.Batch.All() {
			if !is("onlineMeetingInvitation", ucwa.EventStarted)(se) {
				continue
			}
			inv, err := se.Event.OnlineMeetingInvitation()
			if err != nil {
				return err
			}
			if inv.Direction == ucwa.DirectionIncoming {
				if err := c.AcceptOnlineMeeting(ctx, inv); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func TestGroupInvitationJoinsMeetingThenMessaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, acceptMeetings(c))
	ctx := ctxT(t)
	th, err := e.emu.Peer(bob).StartGroup([]string{alice, carol}, "Project X", "hello group")
	if err != nil {
		t.Fatal(err)
	}
	invEv := l.waitEvent(is("onlineMeetingInvitation", ucwa.EventStarted))
	inv, err := invEv.Event.OnlineMeetingInvitation()
	if err != nil {
		t.Fatal(err)
	}
	first, ok, err := inv.FirstMessage()
	from, ferr := inv.From()
	if !ok || err != nil || first.Plain != "hello group" || inv.ThreadID != th || inv.Subject != "Project X" ||
		!strings.Contains(inv.OnlineMeetingURI, "app:conf:focus:id:") || ferr != nil || from.URI != bob {
		t.Fatalf("invitation %+v %+v: %v %v %v", inv, first, ok, err, ferr)
	}
	if _, err := invEv.Event.MessagingInvitation(); !errors.Is(err, ucwa.ErrNotEmbedded) {
		t.Fatalf("MessagingInvitation on a meeting invitation: %v", err)
	}
	convEv := l.waitEvent(func(se ucwa.SenderEvent) bool {
		conv, err := se.Event.Conversation()
		return err == nil && se.Event.Type == ucwa.EventUpdated && conv.State == "Conferenced"
	})
	done := l.waitEvent(is("onlineMeetingInvitation", ucwa.EventCompleted))
	if done.Event.Status != ucwa.StatusSuccess {
		t.Fatalf("completed %+v", done.Event)
	}
	conv, _ := convEv.Event.Conversation()
	m, err := c.Messaging(ctx, conv.Links.Href("messaging"))
	if err != nil || m.State != "Disconnected" || m.Links.Href("addMessaging") == "" {
		t.Fatalf("messaging %+v %v", m, err)
	}
	loc, err := c.AddMessaging(ctx, m, "", false, "join-im")
	if err != nil || !strings.Contains(loc, "/messagingInvitations/") {
		t.Fatalf("add messaging: %q %v", loc, err)
	}
	joined := connectedMessaging(t, l)
	if err := e.emu.Peer(carol).Say(th, "hi all"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("hi all"))
	if _, err := c.SendMessage(ctx, joined, "hello both", false, ""); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{bob, carol} {
		if got, err := e.emu.WaitReceived(ctx, who, 1); err != nil || got[len(got)-1].Text != "hello both" {
			t.Fatalf("%s got %+v %v", who, got, err)
		}
	}
}

func TestDeclineOnlineMeeting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, func(ctx context.Context, u ucwa.Update) error {
		if u.Batch == nil {
			return nil
		}
		for _, se := range u.Batch.All() {
			if inv, err := se.Event.OnlineMeetingInvitation(); err == nil && se.Event.Type == ucwa.EventStarted {
				return c.DeclineOnlineMeeting(ctx, inv, "")
			}
		}
		return nil
	})
	if _, err := e.emu.Peer(bob).StartGroup([]string{alice, carol}, "", "join us"); err != nil {
		t.Fatal(err)
	}
	done := l.waitEvent(is("onlineMeetingInvitation", ucwa.EventCompleted))
	if done.Event.Status != ucwa.StatusFailure || done.Event.Reason.Subcode != "Declined" {
		t.Fatalf("declined %+v", done.Event)
	}
	inv, err := c.OnlineMeetingInvitation(ctxT(t), done.Event.Link.Href)
	if err != nil || inv.State != "Failed" {
		t.Fatalf("invitation %+v %v", inv, err)
	}
	if err := c.AcceptOnlineMeeting(ctxT(t), inv); !errors.Is(err, ucwa.ErrNoLink) {
		t.Fatalf("accept without link: %v", err)
	}
}
