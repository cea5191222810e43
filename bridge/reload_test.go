package bridge_test

import (
	"strings"
	"testing"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// §1: a login whose client is already set loses the old client before the new
// one is made, whatever bridgev2 did before calling LoadUserLogin.
func TestReloadingALoginDisconnectsTheOldClientFirst(t *testing.T) {
	conn, lync, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	login(t, h, "lync", "alice@corp.example")
	loginID := ids.UserLoginID(ids.Lync, "alice@corp.example")
	h.WaitFor("one running lync client", func() bool { return lync.RunningLoops() == 1 })
	old := lync.Clients[loginID]
	ul := h.Bridge.GetCachedUserLoginByID(loginID)

	// What bridgev2 does on a network reset or a re-login, minus its own
	// Disconnect call: load the login again while the old client runs.
	if err := conn.LoadUserLogin(h.Ctx, ul); err != nil {
		t.Fatal(err)
	}
	if old.IsRunning() {
		t.Fatal("the old client still runs after its login was loaded again")
	}
	if ul.Client == old {
		t.Fatal("LoadUserLogin kept the old client")
	}
	// A Connect of the old client that was already on its way (login
	// processes connect in a goroutine) must not start a second loop.
	old.Connect(h.Ctx)
	ul.Client.Connect(h.Ctx)
	if n := lync.RunningLoops(); n != 1 {
		t.Fatalf("%d lync clients run for one login, want 1", n)
	}

	// Log in again with the same account, then log out: one loop, then none.
	login(t, h, "lync", "alice@corp.example")
	h.WaitFor("the new client to connect", func() bool {
		c := lync.Clients[loginID]
		return c != nil && c.IsRunning()
	})
	if n := lync.RunningLoops(); n != 1 {
		t.Fatalf("%d lync clients run after logging in twice, want 1", n)
	}
	if out := h.CommandExpect(alice, "logout "+string(loginID), "Logged out"); !strings.Contains(out, "Logged out") {
		t.Fatalf("logout: %q", out)
	}
	if n := lync.RunningLoops(); n != 0 {
		t.Fatalf("%d lync clients still run after logout", n)
	}
}
