//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// teamsEmu is the Teams emulator (AAD, chat service, AMS, registrar and
// Trouter) the bridge's network.teams points at; it runs in the test
// process for the whole package run.
var teamsEmu *teamsemu.Emulator

func init() { setupHooks = append(setupHooks, startTeamsEmulator) }

// startTeamsEmulator serves the Teams emulator on a loopback port and points
// both endpoint sets of network.teams (work and consumer) at it. It also
// turns bridgev2's backfill on, which is how a Teams chat's history reaches
// a new portal, and polls the other members' read positions every second.
func startTeamsEmulator(context.Context) (func(*bridgeproc.Config) error, func(), error) {
	emu := teamsemu.New(teamsemu.Options{})
	u := emu.Start()
	teamsEmu = emu
	edit := func(cfg *bridgeproc.Config) error {
		settings := map[string]any{
			"network.teams.enabled":                   true,
			"network.teams.allow_insecure_http":       true,
			"network.teams.work.login_url":            u,
			"network.teams.work.authz_url":            u + "/api/authsvc/v1.0/authz",
			"network.teams.work.trouter_url":          u,
			"network.teams.work.registrar_url":        u + "/registrar/prod/V2/registrations",
			"network.teams.consumer.login_url":        u,
			"network.teams.consumer.authz_url":        u + "/api/auth/v1.0/authz/consumer",
			"network.teams.consumer.chat_service_url": u,
			"network.teams.consumer.ams_url":          u + "/ams",
			"network.teams.consumer.middle_tier_url":  u + "/mt",
			"network.teams.consumer.trouter_url":      u,
			"network.teams.consumer.registrar_url":    u + "/registrar/prod/V2/registrations",
			// Other members' read positions are polled; every second keeps
			// the receipt checks short (the default is 20 s).
			"network.teams.read_receipt_poll": "1s",
			"backfill.enabled":                true,
			"backfill.max_initial_messages":   50,
			"backfill.max_catchup_messages":   50,
		}
		for k, v := range settings {
			if err := cfg.Set(k, v); err != nil {
				return err
			}
		}
		return nil
	}
	return edit, emu.Close, nil
}

// teamsStepTimeout bounds each wait of the Teams tests; every step normally
// takes well under a second.
const teamsStepTimeout = 60 * time.Second

// teamsGhost is the Matrix ID of the ghost of a Teams user, built as
// bridgev2 builds it from the prefixed network user ID.
func teamsGhost(mri string) id.UserID {
	return id.NewUserID("imbridge_"+id.EncodeUserLocalpart(string(ids.UserID(ids.Teams, mri))), env.Synapse.ServerName)
}

// teamsAccount adds a uniquely named account to the emulator, so tests
// (and reruns against one emulator) never share state.
func teamsAccount(t *testing.T, consumer bool, local, name string) *teamsemu.User {
	t.Helper()
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	suffix = strings.ToLower(suffix)
	if consumer {
		return teamsEmu.AddConsumerUser(local+"."+suffix+"@outlook.com", name)
	}
	return teamsEmu.AddUser(local+"."+suffix+"@contoso.com", name)
}

// teamsLogin runs `login teams <work|free>` in the management room and
// approves the device code the bot shows through the emulator's test API,
// as the person would in a browser, then waits for the bot's success line
// and the account's push channel to be registered.
func teamsLogin(t *testing.T, ctx context.Context, cli *mxclient.Client, mgmt id.RoomID, u *teamsemu.User, kind string) {
	t.Helper()
	emu := teamsEmu
	mark := cli.Mark()
	// The code to approve is the one the bot shows in this management room
	// (logins of other tests may be pending at the same time).
	approved := make(chan string, 1)
	go func() {
		defer close(approved)
		wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
		defer cancel()
		var code string
		_, err := cli.WaitForMessage(wctx, mgmt, env.BotMXID, mark, func(c *event.MessageEventContent) bool {
			for _, pending := range emu.PendingDeviceCodes() {
				if strings.Contains(c.Body, pending) {
					code = pending
					return true
				}
			}
			return false
		})
		if err == nil && emu.ApproveDeviceCode(code, u.Email) {
			approved <- code
		}
	}()
	want := "Signed in to Microsoft Teams as " + u.Name
	if reply := botCommand(t, ctx, cli, mgmt, "login teams "+kind, want); !strings.Contains(reply, want) {
		t.Fatalf("`login teams %s` said %q, want %q", kind, reply, want)
	}
	if _, ok := <-approved; !ok {
		t.Fatal("the bot never showed a pending device code to approve, yet says the login succeeded")
	}
	if !emu.WaitFor(teamsStepTimeout, func() bool { return emu.Trouter(u.MRI).Registered > 0 }) {
		t.Fatalf("%s's Trouter endpoint was never registered for messaging", u.Email)
	}
}

// joinTeamsPortal waits for the invitation to the next new chat portal of
// the kind asked for (direct: a DM, whose invitation must say is_direct so
// Matrix clients show it as one; otherwise a group room), joins it and
// checks it is encrypted and the ghost is in it.
func joinTeamsPortal(t *testing.T, ctx context.Context, cli *mxclient.Client, inviteMark int, mgmt id.RoomID, ghost id.UserID, direct bool) id.RoomID {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	inv, err := cli.WaitForInvite(wctx, inviteMark, func(inv mxclient.Invite) bool {
		return isChatInvite(mgmt)(inv) && inv.IsDirect == direct
	})
	if err != nil {
		var seen []string
		for _, inv := range cli.Invites(inviteMark) {
			seen = append(seen, fmt.Sprintf("%s (is_direct %t, type %q)", inv.RoomID, inv.IsDirect, inv.RoomType))
		}
		t.Fatalf("no invitation to a Teams portal with is_direct %t: %v; invitations seen: %v", direct, err, seen)
	}
	if err := cli.Join(wctx, inv.RoomID); err != nil {
		t.Fatalf("join the portal: %v", err)
	}
	if err := cli.WaitForEncryption(wctx, inv.RoomID); err != nil {
		t.Errorf("the portal is not encrypted although encryption.default is on: %v", err)
	}
	if err := cli.WaitForMembership(wctx, inv.RoomID, ghost, event.MembershipJoin); err != nil {
		t.Fatalf("the ghost %s is not in the portal: %v", ghost, err)
	}
	return inv.RoomID
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// teamsPlain is the text of a Teams message body (HTML or plain).
func teamsPlain(content string) string {
	return strings.TrimSpace(html.UnescapeString(htmlTag.ReplaceAllString(content, "")))
}

// countTeamsSent counts the messages u posted in conv whose text is text.
func countTeamsSent(conv string, u *teamsemu.User, text string) int {
	n := 0
	for _, m := range teamsEmu.Messages(conv) {
		if m.From == u.MRI && !m.Deleted && teamsPlain(m.Content) == text {
			n++
		}
	}
	return n
}

// sendAndAwaitTeams sends text into the portal and waits for the emulator
// to hold it in conv as a message from the bridged account.
func sendAndAwaitTeams(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, conv string, u *teamsemu.User, text string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer cancel()
	if _, err := cli.SendText(wctx, room, text); err != nil {
		t.Fatal(err)
	}
	if !teamsEmu.WaitFor(teamsStepTimeout, func() bool { return countTeamsSent(conv, u, text) > 0 }) {
		t.Fatalf("%q did not reach Teams as a message from %s; %s has %s", text, u.Email, conv, describeTeams(conv))
	}
}

func describeTeams(conv string) string {
	var parts []string
	for _, m := range teamsEmu.Messages(conv) {
		parts = append(parts, fmt.Sprintf("%s %s %q", m.From, m.MessageType, m.Content))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// ghostTexts lists the bodies of ghost's messages in room since mark, in
// the order the client received them.
func ghostTexts(cli *mxclient.Client, room id.RoomID, ghost id.UserID, mark int) []string {
	var out []string
	for _, r := range cli.Messages(room, mark) {
		if r.Event.Sender == ghost {
			out = append(out, r.Event.Content.AsMessage().Body)
		}
	}
	return out
}

// checkOnceInOrder checks that each of want arrived exactly once from ghost
// since mark, in the given order relative to each other.
func checkOnceInOrder(t *testing.T, cli *mxclient.Client, room id.RoomID, ghost id.UserID, mark int, want []string, what string) {
	t.Helper()
	got := ghostTexts(cli, room, ghost, mark)
	var seen []string
	for _, g := range got {
		for _, w := range want {
			if g == w {
				seen = append(seen, g)
			}
		}
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: the user saw %q, want each of %q once, in order", what, seen, want)
	}
}

// TestTeamsConversation drives a Teams work account through the real bridge
// against the emulator: login through the bot in an encrypted DM with the
// device code approved through the emulator's test API; a group chat and a
// DM with history opening as portals with that history; a DM from a colleague
// opening an encrypted DM portal and the reply going back; the Trouter
// socket dropped with messages sent meanwhile arriving once, in order; and a
// SIGKILL of the bridge mid-stream after which nothing is lost or doubled
// either way.
func TestTeamsConversation(t *testing.T) {
	requireEnv(t)
	if teamsEmu == nil {
		t.Fatal("the Teams emulator was not started by the set-up hook")
	}
	emu := teamsEmu
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	me := teamsAccount(t, false, "alice", "Alice Adams")
	bob := teamsAccount(t, false, "bob", "Bob Brown")
	carol := teamsAccount(t, false, "carol", "Carol Clark")
	bobGhost, carolGhost := teamsGhost(bob.MRI), teamsGhost(carol.MRI)

	// History from before the login.
	group := emu.CreateGroup(bob.MRI, "Launch plan", me.MRI, carol.MRI)
	history := []string{"Kick-off is Monday.", "I'll book the room.", "Agenda to follow."}
	emu.SendText(bob.MRI, group, history[0])
	emu.SendText(carol.MRI, group, history[1])
	emu.SendText(bob.MRI, group, history[2])
	carolDM := emu.OneToOne(carol.MRI, me.MRI)
	dmHistory := []string{"Welcome aboard, Alice! [h1]", "Lunch on Tuesday? [h2]"}
	for _, text := range dmHistory {
		emu.SendText(carol.MRI, carolDM, text)
	}

	user := newUser(t, ctx, "teams")
	mgmt := openManagementRoom(t, ctx, user)
	inviteMark := user.InviteMark()
	teamsLogin(t, ctx, user, mgmt, me, "work")

	// (2) The group chat appears with its history ...
	groupRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, bobGhost, false)
	waitGhostMessage(t, ctx, user, groupRoom, bobGhost, 0, history[2], "the group chat's history")
	for i, text := range history {
		sender := bobGhost
		if i == 1 {
			sender = carolGhost
		}
		if n := countGhostMessages(user, groupRoom, sender, 0, text); n != 1 {
			t.Errorf("the group portal has history message %q from %s %d times, want once", text, sender, n)
		}
	}
	checkOnceInOrder(t, user, groupRoom, bobGhost, 0, []string{history[0], history[2]}, "group history")
	var name event.RoomNameEventContent
	if err := user.Client.StateEvent(ctx, groupRoom, event.StateRoomName, "", &name); err != nil || name.Name != "Launch plan" {
		t.Errorf("the group portal is named %q (%v), want the chat's topic %q", name.Name, err, "Launch plan")
	}
	// ... and so does carol's DM, as a DM.
	carolRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, carolGhost, true)
	waitGhostMessage(t, ctx, user, carolRoom, carolGhost, 0, dmHistory[1], "the DM's history")
	checkOnceInOrder(t, user, carolRoom, carolGhost, 0, dmHistory, "DM history")
	checkGhostName(t, ctx, user, carolRoom, carolGhost, carol.Name)
	gmark := user.Mark()
	live := "Room 4 is booked. [g1]"
	emu.SendText(carol.MRI, group, live)
	waitGhostMessage(t, ctx, user, groupRoom, carolGhost, gmark, live, "carol's live group message")
	sendAndAwaitTeams(t, ctx, user, groupRoom, group, me, "Thanks both! [g-r1]")

	// (1) A DM from a colleague opens an encrypted DM portal; the reply
	// goes back as alice.
	inviteMark, mark := user.InviteMark(), user.Mark()
	dm := emu.OneToOne(bob.MRI, me.MRI)
	text1 := "Hi Alice, got a minute? [1]"
	emu.SendText(bob.MRI, dm, text1)
	portal := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, bobGhost, true)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text1, "bob's first DM")
	checkGhostName(t, ctx, user, portal, bobGhost, bob.Name)
	reply1 := "Sure, call me. [r1]"
	sendAndAwaitTeams(t, ctx, user, portal, dm, me, reply1)

	// (4) The Trouter socket drops (reset, no close frame); what bob sends
	// meanwhile arrives once, in order, and the user's message sent
	// meanwhile reaches Teams once.
	emu.DropTrouter(me.MRI, false)
	dropped := []string{"Did you get this? [d1]", "And this? [d2]", "One more. [d3]"}
	for _, text := range dropped {
		emu.SendText(bob.MRI, dm, text)
	}
	whileDown := "Yes, all of them. [r-drop]"
	sendAndAwaitTeams(t, ctx, user, portal, dm, me, whileDown)
	for _, text := range dropped {
		waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text, "a message sent while the Trouter socket was down")
	}
	after := "Back to normal? [d4]"
	emu.SendText(bob.MRI, dm, after)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, after, "a message after the socket came back")
	checkOnceInOrder(t, user, portal, bobGhost, mark, append([]string{text1}, append(dropped, after)...), "around the Trouter drop")
	if st := emu.Trouter(me.MRI); st.Connects < 2 {
		t.Errorf("the Trouter socket was connected %d times, want a reconnection after the drop", st.Connects)
	}

	// (3) kill -9 mid-stream: a burst from bob and a message from the user
	// are in flight in the bridge when it dies (nothing waits for them), and
	// bob keeps sending while it is down; everything arrives exactly once,
	// bob's in order.
	stream := []string{"Status: step 1 [k1]", "Status: step 2 [k2]", "Status: step 3 [k3]", "Status: step 4 [k4]"}
	for _, text := range stream[:3] {
		emu.SendText(bob.MRI, dm, text)
	}
	inflight := "On my way. [r-kill]"
	if _, err := user.SendText(ctx, portal, inflight); err != nil {
		t.Fatal(err)
	}
	if err := env.Bridge.Kill(); err != nil {
		t.Fatalf("kill bridge: %v", err)
	}
	emu.SendText(bob.MRI, dm, stream[3])
	down := []string{"Status: step 5 (bridge down) [k5]", "Status: step 6 (bridge down) [k6]"}
	for _, text := range down {
		emu.SendText(bob.MRI, dm, text)
	}
	stream = append(stream, down...)
	if err := env.Bridge.Start(ctx); err != nil {
		t.Fatalf("restart bridge after kill: %v", err)
	}
	for _, text := range stream {
		waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text, "a message around the kill")
	}
	text3 := "Done. [k7]"
	emu.SendText(bob.MRI, dm, text3)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text3, "bob's message after the restart")
	all := append(append(append([]string{text1}, dropped...), after), append(stream, text3)...)
	checkOnceInOrder(t, user, portal, bobGhost, mark, all, "around the kill")
	reply2 := "Great, thanks. [r2]"
	sendAndAwaitTeams(t, ctx, user, portal, dm, me, reply2)
	if !emu.WaitFor(teamsStepTimeout, func() bool { return countTeamsSent(dm, me, inflight) > 0 }) {
		t.Errorf("the user's message sent just before the kill never reached Teams: %s", describeTeams(dm))
	}
	for _, text := range []string{reply1, whileDown, inflight, reply2} {
		if n := countTeamsSent(dm, me, text); n != 1 {
			t.Errorf("Teams has %q %d times from %s, want exactly once", text, n, me.Email)
		}
	}
	if n := countGhostMessages(user, groupRoom, carolGhost, gmark, live); n != 1 {
		t.Errorf("after the restart the group portal has %q %d times, want once", live, n)
	}
}

// TestTeamsFreeAccount signs a Teams free (consumer) account in through the
// same bot flow: its DM and group chat appear with their history (the DM as
// a DM), the group's topic and members follow Teams, and messages cross
// both ways, encrypted (the features, media
// included, are checked for Teams free in TestTeamsFeaturesBothWays).
func TestTeamsFreeAccount(t *testing.T) {
	requireEnv(t)
	if teamsEmu == nil {
		t.Fatal("the Teams emulator was not started by the set-up hook")
	}
	emu := teamsEmu
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	me := teamsAccount(t, true, "dana", "Dana Free")
	frank := teamsAccount(t, true, "frank", "Frank Friend")
	gus := teamsAccount(t, true, "gus", "Gus Guest")
	frankGhost, gusGhost := teamsGhost(frank.MRI), teamsGhost(gus.MRI)

	// History from before the login.
	dm := emu.OneToOne(frank.MRI, me.MRI)
	dmHistory := []string{"Long time no see! [fh1]", "Are you on Teams now? [fh2]"}
	for _, text := range dmHistory {
		emu.SendText(frank.MRI, dm, text)
	}
	group := emu.CreateGroup(gus.MRI, "Book club", me.MRI, frank.MRI)
	groupHistory := []string{"Next book: Dune. [gh1]", "Chapter 1 by Sunday. [gh2]"}
	for _, text := range groupHistory {
		emu.SendText(gus.MRI, group, text)
	}

	user := newUser(t, ctx, "teamsfree")
	mgmt := openManagementRoom(t, ctx, user)
	inviteMark := user.InviteMark()
	teamsLogin(t, ctx, user, mgmt, me, "free")

	portal := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, frankGhost, true)
	waitGhostMessage(t, ctx, user, portal, frankGhost, 0, dmHistory[1], "the DM's history")
	checkOnceInOrder(t, user, portal, frankGhost, 0, dmHistory, "Teams free DM history")
	checkGhostName(t, ctx, user, portal, frankGhost, frank.Name)
	groupRoom := joinTeamsPortal(t, ctx, user, inviteMark, mgmt, gusGhost, false)
	waitGhostMessage(t, ctx, user, groupRoom, gusGhost, 0, groupHistory[1], "the group's history")
	checkOnceInOrder(t, user, groupRoom, gusGhost, 0, groupHistory, "Teams free group history")
	var name event.RoomNameEventContent
	if err := user.Client.StateEvent(ctx, groupRoom, event.StateRoomName, "", &name); err != nil || name.Name != "Book club" {
		t.Errorf("the Teams free group portal is named %q (%v), want %q", name.Name, err, "Book club")
	}

	// The group's topic and members follow Teams.
	hal := teamsAccount(t, true, "hal", "Hal Hughes")
	wctx, wcancel := context.WithTimeout(ctx, teamsStepTimeout)
	defer wcancel()
	if err := user.WaitForMembership(wctx, groupRoom, frankGhost, event.MembershipJoin); err != nil {
		t.Fatalf("frank, a member of the Teams group, is not in its portal: %v", err)
	}
	emu.SetTopic(gus.MRI, group, "Book club 2027")
	emu.AddMember(gus.MRI, group, hal.MRI)
	emu.RemoveMember(gus.MRI, group, frank.MRI)
	waitRoomName(t, ctx, user, groupRoom, "Book club 2027", "the topic set on Teams")
	if err := user.WaitForMembership(wctx, groupRoom, teamsGhost(hal.MRI), event.MembershipJoin); err != nil {
		t.Errorf("hal, added in Teams, is not in the group portal: %v", err)
	}
	if err := user.WaitForMembership(wctx, groupRoom, frankGhost, event.MembershipLeave); err != nil {
		t.Errorf("frank, removed in Teams, is still in the group portal: %v", err)
	}

	mark := user.Mark()
	text := "Dinner on Friday? [f1]"
	emu.SendText(frank.MRI, dm, text)
	waitGhostMessage(t, ctx, user, portal, frankGhost, mark, text, "frank's live DM")
	reply := "Yes, 8pm! [f-r1]"
	sendAndAwaitTeams(t, ctx, user, portal, dm, me, reply)
	groupReply := "Halfway through already. [g-r1]"
	sendAndAwaitTeams(t, ctx, user, groupRoom, group, me, groupReply)
	if n := countTeamsSent(dm, me, reply); n != 1 {
		t.Errorf("Teams free has %q %d times from %s, want exactly once", reply, n, me.Email)
	}
	if n := countTeamsSent(group, me, groupReply); n != 1 {
		t.Errorf("Teams free has %q %d times from %s, want exactly once", groupReply, n, me.Email)
	}
	if n := countGhostMessages(user, portal, frankGhost, mark, text); n != 1 {
		t.Errorf("the user saw %q %d times, want once", text, n)
	}
}
