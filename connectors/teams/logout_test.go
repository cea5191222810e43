package teams

import (
	"context"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// heldPair is heldSend plus a second message queued behind the held one.
func (e *env) heldPair() (string, id.EventID, id.EventID) {
	e.t.Helper()
	dm, room, held, _ := e.heldSend("on its way")
	queued := e.h.SendText(room, alice, "queued behind")
	e.h.WaitFor("the second send to be noted", func() bool { return e.noteFor(queued) != "" })
	return dm, held, queued
}

func (e *env) wantSignedOutFailure(evt id.EventID) {
	e.t.Helper()
	st := e.status(evt)
	if st.Status != event.MessageStatusFail || st.Message != errSignedOut.Error() {
		e.t.Fatalf("status of %s = %+v; want failed with %q", evt, st, errSignedOut)
	}
}

// Signing out while one send is throttled and another waits behind it:
// both are shown failed with the reason, their notes go, and nothing
// reaches Teams afterwards.
func TestLogoutFailsPendingSends(t *testing.T) {
	e := newEnv(t)
	dm, held, queued := e.heldPair()
	c := e.client(e.me)
	c.LogoutRemote(context.Background())
	e.wantSignedOutFailure(held)
	e.wantSignedOutFailure(queued)
	var notes map[string]*sendNote
	if ok, err := c.conn.Env.DB.SyncState.Get(context.Background(), c.Login.ID, sendsScope, &notes); err != nil || ok {
		t.Fatalf("notes after the logout: %v (stored %v, %v)", notes, ok, err)
	}
	if n := e.noteFor(held) + e.noteFor(queued); n != "" {
		t.Fatalf("notes still in memory: %q", n)
	}
	e.emu.ClearFaults()
	if !c.sends.queue.Idle(dm) {
		t.Fatal("sends still queued after the logout")
	}
	if got := e.sentTexts(); len(got) != 0 {
		t.Fatalf("Teams got %q after the logout", got)
	}
}

// The same through bridgev2's logout, which deletes the login after
// LogoutRemote.
func TestBridgeLogoutFailsPendingSends(t *testing.T) {
	e := newEnv(t)
	_, held, queued := e.heldPair()
	login := e.h.Bridge.GetCachedUserLoginByID(e.loginID(e.me))
	if login == nil {
		t.Fatal("no login")
	}
	login.Logout(context.Background())
	e.wantSignedOutFailure(held)
	e.wantSignedOutFailure(queued)
}
