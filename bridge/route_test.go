package bridge_test

import (
	"fmt"
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

const (
	lyncLogin  = networkid.UserLoginID("lync.alice@corp.example")
	teamsLogin = networkid.UserLoginID("teams.alice@contoso.example")
)

// twoNetworks has alice logged in to the fake lync (corp.example) and the
// fake teams (contoso.example, which also claims "8:" identifiers). Both take
// any e-mail-like address, as the real Lync and Teams do.
func twoNetworks(t *testing.T, configure func(*bridgeconfig.BridgeConfig)) (*bridgetest.Harness, *fakeproto.Proto, *fakeproto.Proto) {
	t.Helper()
	lync, teams := fakeproto.New(ids.Lync), fakeproto.New(ids.Teams)
	teams.ClaimPrefix = "8:"
	h := bridgetest.New(t, bridge.New(lync, teams), bridgetest.Options{NetworkConfig: bothEnabled, Configure: configure})
	login(t, h, "lync", "alice@corp.example")
	login(t, h, "teams", "alice@contoso.example")
	h.WaitFor("both logins connected", func() bool { return lync.RunningLoops() == 1 && teams.RunningLoops() == 1 })
	return h, lync, teams
}

func portalExists(t *testing.T, h *bridgetest.Harness, key networkid.PortalKey) bool {
	t.Helper()
	p, err := h.Bridge.GetExistingPortalByKey(h.Ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return p != nil && p.MXID != ""
}

func TestStartChatGoesToTheNetworkOfTheIdentifier(t *testing.T) {
	h, lync, _ := twoNetworks(t, nil)
	for _, tc := range []struct {
		command string
		portal  networkid.PortalKey
	}{
		{"start-chat teams:bob@corp.example", networkid.PortalKey{ID: "teams.dm-bob@corp.example", Receiver: teamsLogin}},
		{"pm lync:bob@contoso.example", networkid.PortalKey{ID: "lync.dm-bob@contoso.example", Receiver: lyncLogin}},
		{"start-chat carol@contoso.example", networkid.PortalKey{ID: "teams.dm-carol@contoso.example", Receiver: teamsLogin}},
		{"start-chat dave@corp.example", networkid.PortalKey{ID: "lync.dm-dave@corp.example", Receiver: lyncLogin}},
		{"start-chat 8:orgid:abc", networkid.PortalKey{ID: "teams.dm-8:orgid:abc", Receiver: teamsLogin}},
		{"start-chat teams.alice@contoso.example erin@corp.example", networkid.PortalKey{ID: "teams.dm-erin@corp.example", Receiver: teamsLogin}},
		{"start-chat @imbridge_teams.frank=40corp.example:test", networkid.PortalKey{ID: "teams.dm-frank@corp.example", Receiver: teamsLogin}},
	} {
		reply := h.Command(alice, tc.command)
		if !strings.Contains(reply, "Created a chat with") || !portalExists(t, h, tc.portal) {
			t.Errorf("%s: reply %q; want portal %s", tc.command, reply, tc.portal)
		}
	}
	// The same identifiers resolve the same way every time.
	for i := 0; i < 5; i++ {
		for ident, want := range map[string]string{
			"teams:bob@corp.example": "Fake teams", "lync:bob@contoso.example": "Fake lync",
			"carol@contoso.example": "Fake teams", "dave@corp.example": "Fake lync", "8:orgid:abc": "Fake teams",
		} {
			if reply := h.Command(alice, "resolve-identifier "+ident); !strings.Contains(reply, "on "+want) {
				t.Fatalf("resolve-identifier %s: %q, want it found on %s", ident, reply, want)
			}
		}
	}
	if reply := h.Command(alice, "start-chat teams.alice@contoso.example lync:x@corp.example"); !strings.Contains(reply, "is a Fake lync identifier") {
		t.Errorf("an identifier of another network than the named login: %q", reply)
	}
	if reply := h.Command(alice, "start-chat skype:bob"); !strings.Contains(reply, "no skype login") {
		t.Errorf("an identifier of a network without login: %q", reply)
	}

	// A disconnected login says "try next", so the next login is asked.
	lync.Clients[lyncLogin].Disconnect()
	reply := h.Command(alice, "start-chat gina@corp.example")
	if !strings.Contains(reply, "Created a chat with") || !portalExists(t, h, networkid.PortalKey{ID: "teams.dm-gina@corp.example", Receiver: teamsLogin}) {
		t.Errorf("with lync disconnected, gina@corp.example should go to teams: %q", reply)
	}
	if reply = h.Command(alice, "start-chat lync:gina@corp.example"); !strings.Contains(reply, "none of your logins") {
		t.Errorf("a lync identifier with lync disconnected: %q", reply)
	}
}

func TestSearchAsksEveryNetwork(t *testing.T) {
	h, _, _ := twoNetworks(t, nil)
	out := h.Command(alice, "search bob")
	for _, want := range []string{"**Fake lync** (`lync.alice@corp.example`)", "Found on lync", "**Fake teams** (`teams.alice@contoso.example`)", "Found on teams"} {
		if !strings.Contains(out, want) {
			t.Errorf("search lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "Found on lync") > strings.Index(out, "**Fake teams**") {
		t.Errorf("results must be listed under their network:\n%s", out)
	}
	one := h.Command(alice, "search teams:bob")
	if strings.Contains(one, "Found on lync") || !strings.Contains(one, "Found on teams") {
		t.Errorf("search teams:bob asked other networks:\n%s", one)
	}
}

// inviteGhost starts a DM the Matrix way: alice creates a room and invites a
// ghost; it returns the bot's or ghost's notices in that room.
func inviteGhost(t *testing.T, h *bridgetest.Harness, room id.RoomID, ghost id.UserID) {
	t.Helper()
	h.Matrix.AddRoom(room, map[id.UserID]event.Membership{alice: event.MembershipJoin})
	h.SendMatrixState(room, alice, event.StateMember, string(ghost), &event.MemberEventContent{Membership: event.MembershipInvite, IsDirect: true})
}

func TestGhostInviteGoesToTheGhostsNetwork(t *testing.T) {
	h, _, _ := twoNetworks(t, nil)
	for i := 0; i < 4; i++ {
		for _, p := range []ids.Protocol{ids.Lync, ids.Teams} {
			native := fmt.Sprintf("friend%d@example.org", i)
			room := id.RoomID(fmt.Sprintf("!dm-%s-%d:test", p, i))
			inviteGhost(t, h, room, h.Matrix.FormatGhostMXID(ids.UserID(p, native)))
			key := networkid.PortalKey{ID: ids.PortalID(p, "dm-"+native), Receiver: map[ids.Protocol]networkid.UserLoginID{ids.Lync: lyncLogin, ids.Teams: teamsLogin}[p]}
			h.WaitFor(fmt.Sprintf("room %s to become portal %s", room, key), func() bool {
				portal, err := h.Bridge.GetExistingPortalByKey(h.Ctx, key)
				return err == nil && portal != nil && portal.MXID == room
			})
		}
	}
}

// With a disabled protocol's login in the mix (its placeholder client), a
// ghost invite must still reach the login of the ghost's network, every time
// (bridgev2 visits the logins in map order).
func TestGhostInviteWorksBesideADisabledProtocolsLogin(t *testing.T) {
	conn, _, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	login(t, h, "lync", "alice@corp.example")
	login(t, h, "teams", "alice@contoso.example")
	db := h.DBPath
	h.Stop()
	conn2, _, _ := newConn()
	h2 := bridgetest.New(t, conn2, bridgetest.Options{NetworkConfig: "lync: {enabled: true, greeting: hi}\nteams: {enabled: false, greeting: x}\n", DBPath: db})
	for i := 0; i < 8; i++ {
		native := fmt.Sprintf("friend%d@example.org", i)
		room := id.RoomID(fmt.Sprintf("!dm-%d:test", i))
		inviteGhost(t, h2, room, h2.Matrix.FormatGhostMXID(ids.UserID(ids.Lync, native)))
		key := networkid.PortalKey{ID: ids.PortalID(ids.Lync, "dm-"+native), Receiver: lyncLogin}
		h2.WaitFor(fmt.Sprintf("invite %d to make portal %s", i, key), func() bool {
			portal, err := h2.Bridge.GetExistingPortalByKey(h2.Ctx, key)
			return err == nil && portal != nil && portal.MXID == room
		})
	}
}

// botSaysIn sends a command in a room and waits for the bot's next message there.
func botSaysIn(t *testing.T, h *bridgetest.Harness, room id.RoomID, command string) string {
	t.Helper()
	count := func() []string {
		var out []string
		for _, e := range h.Matrix.Messages(room) {
			if e.Sender == bridgetest.BotMXID && e.Message() != nil {
				out = append(out, e.Message().Body)
			}
		}
		return out
	}
	before := len(count())
	h.SendText(room, alice, "!im "+command)
	var reply string
	h.WaitFor("the bot's reply to "+command, func() bool {
		if msgs := count(); len(msgs) > before {
			reply = msgs[before]
			return true
		}
		return false
	})
	return reply
}

func TestSetRelayPicksTheLoginOfThePortalsNetwork(t *testing.T) {
	h, lync, teams := twoNetworks(t, func(c *bridgeconfig.BridgeConfig) { c.Relay.Enabled = true })
	teams.Clients[teamsLogin].ReceiveShared("shared", "m1", "hello")
	lync.Clients[lyncLogin].ReceiveShared("shared", "m1", "hello")
	for _, tc := range []struct {
		p     ids.Protocol
		login networkid.UserLoginID
		wrong networkid.UserLoginID
	}{{ids.Teams, teamsLogin, lyncLogin}, {ids.Lync, lyncLogin, teamsLogin}} {
		key := networkid.PortalKey{ID: ids.PortalID(tc.p, "shared")}
		room := h.PortalRoom(key)
		if reply := botSaysIn(t, h, room, "set-relay "+string(tc.wrong)); !strings.Contains(reply, "only a Fake "+string(tc.p)+" login can relay") {
			t.Errorf("%s portal: relay %s accepted? %q", tc.p, tc.wrong, reply)
		}
		if reply := botSaysIn(t, h, room, "set-relay"); !strings.Contains(reply, "relayed through") {
			t.Fatalf("%s portal: set-relay: %q", tc.p, reply)
		}
		portal, err := h.Bridge.GetExistingPortalByKey(h.Ctx, key)
		if err != nil || portal == nil || portal.RelayLoginID != tc.login {
			t.Fatalf("%s portal relay = %v (%v), want %s", tc.p, portal.RelayLoginID, err, tc.login)
		}
	}
}

func TestCreatePortalUsesTheLoginOfTheChatsNetwork(t *testing.T) {
	h, _, teams := twoNetworks(t, nil)
	teams.Clients[teamsLogin].Receive("c1", "m1", "hi")
	h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Teams, "c1"), Receiver: teamsLogin})
	if reply := h.Command(alice, "create-portal teams.c1"); !strings.Contains(reply, "already has a Matrix room") {
		t.Fatalf("create-portal of a teams chat: %q", reply)
	}
}

func TestCreateGroupNeedsALoginOfTheTypesNetwork(t *testing.T) {
	h, _, _ := twoNetworks(t, nil)
	if reply := h.Command(alice, "create-group skype.group"); !strings.Contains(reply, "no skype login") {
		t.Fatalf("create-group of a network without login: %q", reply)
	}
}
