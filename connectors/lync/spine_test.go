package lync

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// running reports whether the client's event loop runs.
func (c *Client) running() bool {
	return c.loop.Running()
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
	ghost, err := e.h.Bridge.GetGhostByID(e.h.Ctx, ids.UserID(ids.Lync, bobSIP))
	if err != nil {
		t.Fatal(err)
	}
	teamsGhost, err := e.h.Bridge.GetGhostByID(e.h.Ctx, ids.UserID(ids.Teams, bobSIP))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = c.CreateChatWithGhost(e.h.Ctx, teamsGhost); !errors.Is(err, bridgev2.ErrResolveIdentifierTryNext) {
		t.Errorf("CreateChatWithGhost(teams ghost) = %v, want try-next", err)
	}
	if resp, err := c.CreateChatWithGhost(e.h.Ctx, ghost); err != nil || resp.PortalKey.ID != ids.PortalID(ids.Lync, bobSIP) {
		t.Errorf("CreateChatWithGhost(lync ghost) = %+v, %v", resp, err)
	}
	c.Disconnect()
	if _, err := c.ResolveIdentifier(e.h.Ctx, bobSIP, false); !errors.Is(err, bridgev2.ErrResolveIdentifierTryNext) {
		t.Errorf("disconnected ResolveIdentifier = %v, want try-next", err)
	}
	if _, err := c.CreateChatWithGhost(e.h.Ctx, ghost); !errors.Is(err, bridgev2.ErrResolveIdentifierTryNext) {
		t.Errorf("disconnected CreateChatWithGhost = %v, want try-next", err)
	}
}

func withOthers(ps ...protocol.Protocol) envOption {
	return func(e *env, _ *ucwaemu.Options) { e.others = ps }
}

const teamsLID = networkid.UserLoginID("teams.alice@contoso.example")

// Lync beside a second network (the fake protocol as Teams): every request
// goes to the network its identifier names or matches, every time.
func TestLyncBesideASecondNetwork(t *testing.T) {
	teams := fakeproto.New(ids.Teams)
	teams.ClaimPrefix = "8:"
	e := newEnv(t, withOthers(teams))
	if err := e.emu.AddContact(aliceSIP, bobSIP); err != nil {
		t.Fatal(err)
	}
	lc := e.login()
	e.h.CommandPrompt(alice, "login teams", "Name")
	e.h.CommandExpect(alice, "alice@contoso.example", "Logged in as")
	e.h.WaitFor("the teams login to connect", func() bool { return teams.RunningLoops() == 1 })

	// start-chat: qualified, by login domain, by claimed syntax.
	for _, tc := range []struct {
		command string
		portal  networkid.PortalKey
	}{
		{"start-chat teams:bob@corp.example", networkid.PortalKey{ID: "teams.dm-bob@corp.example", Receiver: teamsLID}},
		{"start-chat " + bobSIP, networkid.PortalKey{ID: ids.PortalID(ids.Lync, bobSIP), Receiver: aliceLID}},
		{"start-chat carol@contoso.example", networkid.PortalKey{ID: "teams.dm-carol@contoso.example", Receiver: teamsLID}},
		{"start-chat lync:" + carolSIP, networkid.PortalKey{ID: ids.PortalID(ids.Lync, carolSIP), Receiver: aliceLID}},
		{"start-chat 8:orgid:123", networkid.PortalKey{ID: "teams.dm-8:orgid:123", Receiver: teamsLID}},
	} {
		e.h.CommandExpect(alice, tc.command, "chat with")
		e.h.PortalRoom(tc.portal)
	}
	e.sendMatrix(e.dmRoom(bobSIP), "hello bob")
	if got := e.received(bobSIP, 1); got[0].Text != "hello bob" {
		t.Fatalf("bob received %q", got[0].Text)
	}
	for i := 0; i < 3; i++ {
		if r := e.h.Command(alice, "resolve-identifier "+carolSIP); !strings.Contains(r, "on Skype for Business") {
			t.Fatalf("resolve-identifier %s: %q", carolSIP, r)
		}
		if r := e.h.Command(alice, "resolve-identifier teams:"+carolSIP); !strings.Contains(r, "on Fake teams") {
			t.Fatalf("resolve-identifier teams:%s: %q", carolSIP, r)
		}
	}

	// search asks both networks and labels the results.
	out := e.h.Command(alice, "search Carol")
	for _, want := range []string{"**Skype for Business** (`lync.alice@corp.example`)", carolSIP, "**Fake teams** (`teams.alice@contoso.example`)", "Found on teams"} {
		if !strings.Contains(out, want) {
			t.Errorf("search lacks %q:\n%s", want, out)
		}
	}

	// Ghost invites reach the ghost's network.
	for i, ghost := range []networkid.UserID{ids.UserID(ids.Teams, "erin@corp.example"), ids.UserID(ids.Lync, "dave@corp.example")} {
		room := id.RoomID(fmt.Sprintf("!invite%d:%s", i, bridgetest.ServerName))
		e.h.Matrix.AddRoom(room, map[id.UserID]event.Membership{alice: event.MembershipJoin})
		e.h.SendMatrixState(room, alice, event.StateMember, string(e.h.Matrix.FormatGhostMXID(ghost)), &event.MemberEventContent{Membership: event.MembershipInvite, IsDirect: true})
		p, native, _ := ids.Split(string(ghost))
		key := networkid.PortalKey{ID: ids.PortalID(p, native), Receiver: aliceLID}
		if p == ids.Teams {
			key = networkid.PortalKey{ID: ids.PortalID(p, "dm-"+native), Receiver: teamsLID}
		}
		e.h.WaitFor(fmt.Sprintf("room %s to become portal %s", room, key), func() bool {
			portal, err := e.h.Bridge.GetExistingPortalByKey(e.h.Ctx, key)
			return err == nil && portal != nil && portal.MXID == room
		})
	}

	// With Lync disconnected, an address it would take goes to the next login.
	lc.Disconnect()
	e.h.CommandExpect(alice, "start-chat frank@corp.example", "chat with")
	e.h.PortalRoom(networkid.PortalKey{ID: "teams.dm-frank@corp.example", Receiver: teamsLID})
}
