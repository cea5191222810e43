package lync

import (
	"errors"
	"testing"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/ids"
)

// running reports whether the client's event loop runs.
func (c *Client) running() bool {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	return c.runCancel != nil
}

// Logging in twice with the same account replaces the client: the first
// one's event loop stops before the second starts, and logging out leaves none.
func TestLoggingInTwiceKeepsOneEventLoop(t *testing.T) {
	e := newEnv(t)
	first := e.login()
	second := e.login()
	if first == second {
		t.Fatal("the second login kept the first client")
	}
	if first.running() {
		t.Fatal("the first client's event loop still runs after the second login")
	}
	if !first.Retired() {
		t.Fatal("the replaced client was not retired")
	}
	// A late Connect of the replaced client must not start a second loop.
	first.Connect(e.h.Ctx)
	if first.running() {
		t.Fatal("a retired client started an event loop")
	}
	e.h.CommandExpect(alice, "logout "+string(aliceLID), "Logged out")
	if second.running() || first.running() {
		t.Fatalf("event loops after logout: first %v, second %v", first.running(), second.running())
	}
	e.h.WaitFor("the second login's application to be deleted", func() bool {
		for _, app := range e.emu.Applications(aliceSIP) {
			if app.EndpointID == second.meta.EndpointID {
				return false
			}
		}
		return true
	})
}

// The Lync client says "try next" for what is not its own and while
// disconnected, so the bridge can ask the user's other logins.
func TestResolveIdentifierTriesNextForOthersAndWhileDisconnected(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	for _, ident := range []string{"teams:" + bobSIP, "teams.8:orgid:1234", "8:orgid:1234", "live:bob"} {
		if _, err := c.ResolveIdentifier(e.h.Ctx, ident, false); !errors.Is(err, bridgev2.ErrResolveIdentifierTryNext) {
			t.Errorf("ResolveIdentifier(%q) = %v, want try-next", ident, err)
		}
	}
	for _, ident := range []string{"lync:" + bobSIP, "sip:" + bobSIP, bobSIP} {
		resp, err := c.ResolveIdentifier(e.h.Ctx, ident, true)
		if err != nil || resp.UserID != ids.UserID(ids.Lync, bobSIP) || resp.Chat == nil {
			t.Errorf("ResolveIdentifier(%q) = %+v, %v", ident, resp, err)
		}
	}
	c.Disconnect()
	if _, err := c.ResolveIdentifier(e.h.Ctx, bobSIP, false); !errors.Is(err, bridgev2.ErrResolveIdentifierTryNext) {
		t.Errorf("disconnected ResolveIdentifier = %v, want try-next", err)
	}
}
