package skype

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

func (e *env) managementNotices(substr string) int {
	n := 0
	for _, r := range e.h.BotReplies(carolMX) {
		if strings.Contains(r, substr) {
			n++
		}
	}
	return n
}

func (e *env) soapLogins() int {
	n := 0
	for _, r := range e.emu.Requests() {
		if strings.HasSuffix(r.Path, "/RST.srf") {
			n++
		}
	}
	return n
}

// A token login cannot renew: when Skype stops accepting the token the
// login goes to BAD_CREDENTIALS once, with one notice, and stays there.
func TestExpiredTokenLoginIsBadCredentialsOnce(t *testing.T) {
	e := newEnv(t)
	tok := e.emu.MintToken(carol)
	e.h.CommandPrompt(carolMX, "login skype-token", "skypetoken")
	e.h.CommandExpect(carolMX, tok, "Signed in to Skype")
	c := e.connected()
	e.emu.ExpireSkypeTokens(carol)
	e.emu.ExpireRegistrations(carol)
	e.h.WaitFor("BAD_CREDENTIALS", func() bool { return c.LastState() == status.StateBadCredentials })
	e.h.WaitFor("the management-room notice", func() bool { return e.managementNotices("Skype no longer accepts") == 1 })
	// A restart reports it again (the state), but bridgev2's login is not
	// hammered: no sign-in was attempted with the dead token's user.
	if n := e.soapLogins(); n != 0 {
		t.Fatalf("%d password sign-ins for a token login", n)
	}
	e.restart()
	e.h.WaitFor("BAD_CREDENTIALS after the restart", func() bool {
		ul := e.h.Bridge.GetCachedUserLoginByID(carolLID)
		return ul != nil && ul.Client.(*Client).LastState() == status.StateBadCredentials
	})
	if e.client().IsLoggedIn() {
		t.Fatal("a login with a dead token says it is logged in")
	}
}

// A password login renews the ~24 h skypetoken itself, and seals the new
// token into the login row.
func TestPasswordLoginRenewsToken(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	before := c.meta.sealedToken()
	e.emu.ExpireSkypeTokens(carol)
	e.emu.ExpireRegistrations(carol)
	e.emu.Send(bob, carol, "after renewal")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "after renewal")
	e.h.WaitFor("the renewed token to be stored", func() bool { return c.meta.sealedToken() != before })
	if c.LastState() == status.StateBadCredentials {
		t.Fatal("renewal ended in BAD_CREDENTIALS")
	}
	// Restarting uses the renewed token without another sign-in.
	logins := e.soapLogins()
	e.restart()
	e.connected()
	e.emu.Send(bob, carol, "after restart")
	e.waitTexts(room, e.ghost(bob), "after renewal", "after restart")
	if n := e.soapLogins(); n != logins {
		t.Fatalf("the restart signed in again (%d → %d SOAP calls)", logins, n)
	}
}

// When the stored password stops working (changed on Skype), the bridge
// says so once and does not retry the password in a loop.
func TestChangedPasswordIsBadCredentials(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	e.emu.Configure(carol, func(u *skypeemu.User) { u.Password = "changed" })
	e.emu.ExpireSkypeTokens(carol)
	e.emu.ExpireRegistrations(carol)
	e.h.WaitFor("BAD_CREDENTIALS", func() bool { return c.LastState() == status.StateBadCredentials })
	// bridgev2's own BAD_CREDENTIALS state notice quotes the reason too, so
	// the count looks for the connector's notice by its wording.
	e.h.WaitFor("the notice", func() bool {
		return e.managementNotices("Skype no longer accepts the bridge's sign-in for live:carol: the stored password was refused") == 1
	})
	// The session loop has ended: nothing signs in again by itself.
	done := c.loop.Done()
	e.h.WaitFor("the session loop to end", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	if n := e.soapLogins(); n != 2 {
		t.Fatalf("%d SOAP sign-ins, want the login's and one renewal attempt", n)
	}
}

// The bridge dies after Skype accepted a send and before the echo came
// back: the next run's catch-up finds the message and links it to the
// Matrix event instead of bridging it a second time.
func TestSendWithoutEchoBeforeRestartIsNotDoubled(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	// Stop the event loop but keep the client usable: the echo stays
	// queued on an endpoint nobody polls.
	c.Disconnect()
	c.loggedIn.Store(true)
	evt := e.h.SendText(room, carolMX, "sent just before the crash")
	sent := e.sentBy(carol, 1)[0]
	e.restart()
	e.connected()
	e.emu.Send(bob, carol, "marker")
	e.waitTexts(room, e.ghost(bob), "hi", "marker")
	for _, m := range e.h.Matrix.Messages(room) {
		if m.ID != evt && m.Message() != nil && m.Message().Body == "sent just before the crash" {
			t.Fatalf("the message was bridged back into Matrix by %s", m.Sender)
		}
	}
	part, err := e.h.Bridge.DB.Message.GetFirstPartByID(e.h.Ctx, carolLID, msgID("8:"+bob, sent.ClientMessageID, ""))
	if err != nil || part == nil || part.MXID != evt {
		t.Fatalf("row of the adopted message: %+v, %v", part, err)
	}
	// And the Matrix event no longer shows "sending".
	if st := e.finalStatuses([]id.EventID{evt})[evt]; st.Status != event.MessageStatusSuccess {
		t.Fatalf("status of the adopted message: %+v", st)
	}
}
