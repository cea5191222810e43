//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/mxclient"
)

// lyncStepTimeout bounds each wait of the Lync test; every step normally
// takes well under a second.
const lyncStepTimeout = 60 * time.Second

// TestLyncConversation drives a whole Skype for Business chat through the
// real bridge against the UCWA emulator: login through the bot, an IM from
// a colleague opening an encrypted DM portal, the reply, typing both
// ways, and a SIGKILL of the bridge with an IM arriving while it is down,
// after which every message must arrive exactly once.
func TestLyncConversation(t *testing.T) {
	requireEnv(t)
	if lyncEmu == nil {
		t.Fatal("the UCWA emulator was not started by the set-up hook")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	emu := lyncEmu
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(8)
	if err != nil {
		t.Fatal(err)
	}
	aliceSIP := "alice." + suffix + "@corp.example"
	if err := emu.AddUser(aliceSIP, "Alice Example", password); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{aliceSIP, lyncBobSIP}, {lyncBobSIP, aliceSIP}} {
		if err := emu.AddContact(pair[0], pair[1]); err != nil {
			t.Fatal(err)
		}
	}
	bob := emu.Peer(lyncBobSIP)
	bobGhost := lyncGhost(lyncBobSIP)

	user := newUser(t, ctx, "lync")
	mgmt := openManagementRoom(t, ctx, user)

	// Log in through the bot, answering its prompts like a person would.
	lyncLogin(t, ctx, user, mgmt, aliceSIP, password, "Alice Example")
	if reply := botCommand(t, ctx, user, mgmt, "list-logins", "lync."+aliceSIP); !strings.Contains(reply, "lync."+aliceSIP) {
		t.Errorf("list-logins after the Lync login = %q, want it to list login lync.%s", reply, aliceSIP)
	}

	// Bob writes first: the user is invited to a new, encrypted DM portal.
	inviteMark, mark := user.InviteMark(), user.Mark()
	text1 := "Hi Alice, lunch today? [" + suffix + "-1]"
	threadID, err := bob.SendIM(aliceSIP, text1)
	if err != nil {
		t.Fatal(err)
	}
	portal := joinLyncPortal(t, ctx, user, inviteMark, mgmt, bobGhost)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text1, "bob's first IM")
	checkGhostName(t, ctx, user, portal, bobGhost, lyncBobName)

	// The reply reaches bob.
	reply1 := "Sure, 12:30 at the usual place. [" + suffix + "-r1]"
	sendAndAwaitLync(t, ctx, user, portal, emu, aliceSIP, reply1, "the user's first reply")

	// Typing, remote to Matrix: bob types, the ghost types. When bob
	// stops, the ghost must stop too (UCWA and Synapse would also let it
	// lapse after 6 s and 15 s, so this proves only that it ends).
	if err := bob.Typing(threadID, true); err != nil {
		t.Fatalf("bob typing: %v", err)
	}
	waitTyping(t, ctx, user, portal, bobGhost, true)
	if err := bob.Typing(threadID, false); err != nil {
		t.Fatalf("bob stops typing: %v", err)
	}
	waitTyping(t, ctx, user, portal, bobGhost, false)

	// Typing, Matrix to remote: the user types, UCWA gets setIsTyping.
	typingBefore := emu.TypingCount(aliceSIP)
	if err := user.SetTyping(ctx, portal, true); err != nil {
		t.Fatal(err)
	}
	func() {
		wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
		defer cancel()
		if err := emu.WaitFor(wctx, func() bool { return emu.TypingCount(aliceSIP) > typingBefore }); err != nil {
			t.Errorf("Matrix typing in the portal did not reach UCWA (setIsTyping count of %s stayed %d): %v", aliceSIP, typingBefore, err)
		}
	}()
	if err := user.SetTyping(ctx, portal, false); err != nil {
		t.Fatal(err)
	}

	// Crash: SIGKILL, bob writes while the bridge is down, restart with
	// the same config and database, bob writes again.
	if err := env.Bridge.Kill(); err != nil {
		t.Fatalf("kill bridge: %v", err)
	}
	mgmtMark := user.Mark()
	text2 := "Are you there? (sent while the bridge was down) [" + suffix + "-2]"
	if _, err := bob.SendIM(aliceSIP, text2); err != nil {
		t.Fatal(err)
	}
	restartStart := time.Now()
	if err := env.Bridge.Start(ctx); err != nil {
		t.Fatalf("restart bridge after kill: %v", err)
	}
	t.Logf("bridge restarted in %s", time.Since(restartStart).Round(time.Millisecond))
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text2, "bob's IM sent while the bridge was down")
	text3 := "OK, see you at 12:30. [" + suffix + "-3]"
	if _, err := bob.SendIM(aliceSIP, text3); err != nil {
		t.Fatal(err)
	}
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text3, "bob's IM after the restart")
	// The portal handles messages in order, so a repeat of an earlier one
	// would have arrived before text3.
	for _, text := range []string{text1, text2, text3} {
		if n := countGhostMessages(user, portal, bobGhost, mark, text); n != 1 {
			t.Errorf("the user saw %q %d times in the portal, want exactly once", text, n)
		}
	}
	for _, r := range user.Messages(portal, mark) {
		if r.Event.Sender == bobGhost && !r.Encrypted {
			t.Errorf("ghost message %q arrived unencrypted in the encrypted portal", r.Event.Content.AsMessage().Body)
		}
	}
	var chatInvites []mxclient.Invite
	for _, inv := range user.Invites(inviteMark) {
		if isChatInvite(mgmt)(inv) {
			chatInvites = append(chatInvites, inv)
		}
	}
	if len(chatInvites) != 1 {
		t.Errorf("the user was invited to %d chat rooms during the chat, want only the one portal: %+v", len(chatInvites), chatInvites)
	}
	for _, r := range user.Messages(mgmt, mgmtMark) {
		if body := r.Event.Content.AsMessage().Body; r.Event.Sender == env.BotMXID && strings.Contains(strings.ToLower(body), "missed") {
			t.Errorf("after the restart the bot said the Lync session was lost although it was still alive: %q", body)
		}
	}

	// The user replies again after the restart; bob gets it exactly once.
	reply2 := "Running five minutes late. [" + suffix + "-r2]"
	sendAndAwaitLync(t, ctx, user, portal, emu, aliceSIP, reply2, "the user's reply after the restart")
	// Messages of a portal are sent in order: once this one arrived, any
	// repeat of the earlier ones would have arrived too.
	barrier := "See you. [" + suffix + "-r3]"
	sendAndAwaitLync(t, ctx, user, portal, emu, aliceSIP, barrier, "the user's last message")
	for _, text := range []string{reply1, reply2, barrier} {
		if n := countReceived(emu, lyncBobSIP, aliceSIP, text); n != 1 {
			t.Errorf("bob received %q %d times, want exactly once; all received: %s", text, n, describeReceived(emu.Received(lyncBobSIP)))
		}
	}
	// The conversation outlived the bridge on the server, so the replies
	// after the restart continue it rather than opening a new one.
	for _, m := range emu.Received(lyncBobSIP) {
		if m.From == "sip:"+aliceSIP && m.ThreadID != threadID {
			t.Errorf("bob got %q in conversation %s, want it in the open conversation %s", m.Text, m.ThreadID, threadID)
		}
	}

	// Metrics count what was bridged since the restart.
	checkLyncMetrics(t, ctx)
}

// lyncGhost is the Matrix ID of the ghost of a Lync user.
func lyncGhost(sip string) id.UserID {
	return id.NewUserID("imbridge_lync."+strings.ReplaceAll(sip, "@", "=40"), env.Synapse.ServerName)
}

// lyncLogin runs `login lync <address> <password>` in the management room.
// The answers go with the command: bridgev2 sends a login prompt before it
// starts waiting for the answer, so an answer typed at the prompt can be
// taken for a command; the prompts themselves are tested in process
// (connectors/lync).
func lyncLogin(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, sip, password, name string) {
	t.Helper()
	want := fmt.Sprintf("Signed in to Skype for Business as %s (%s).", name, sip)
	if reply := botCommand(t, ctx, cli, room, "login lync "+sip+" "+password, want); !strings.Contains(reply, want) {
		t.Fatalf("`login lync` said %q, want %q", reply, want)
	}
}

// botFailure matches bot replies that end a command or login step with an
// error, so waits for an expected reply end early with the real reason.
var botFailure = []string{"unknown command", "failed", "invalid", "error", "not found", "you already have"}

// botCommand sends text to the bot and returns its first later message
// that contains want (case-insensitive; "" takes the next message) or
// reports a failure.
func botCommand(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, text, want string) string {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	mark := cli.Mark()
	if _, err := cli.SendText(wctx, room, text); err != nil {
		t.Fatal(err)
	}
	reply, err := cli.WaitForMessage(wctx, room, env.BotMXID, mark, func(c *event.MessageEventContent) bool {
		body := strings.ToLower(c.Body)
		if strings.Contains(body, strings.ToLower(want)) {
			return true
		}
		for _, f := range botFailure {
			if strings.Contains(body, f) {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("the bot did not answer %q with %q: %v", text, want, err)
	}
	return reply.Event.Content.AsMessage().Body
}

// joinLyncPortal waits for the invitation to a new portal room, joins it
// and checks it is an encrypted DM with the ghost.
func joinLyncPortal(t *testing.T, ctx context.Context, cli *mxclient.Client, inviteMark int, mgmt id.RoomID, ghost id.UserID) id.RoomID {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	inv, err := cli.WaitForInvite(wctx, inviteMark, isChatInvite(mgmt))
	if err != nil {
		t.Fatalf("the colleague's IM did not invite the user to a portal room: %v", err)
	}
	if !inv.IsDirect {
		t.Errorf("the invitation to the Lync DM portal %s (from %s) is not marked as a direct chat", inv.RoomID, inv.Sender)
	}
	if err := cli.Join(wctx, inv.RoomID); err != nil {
		t.Fatalf("join the portal: %v", err)
	}
	if err := cli.WaitForEncryption(wctx, inv.RoomID); err != nil {
		t.Errorf("the DM portal is not encrypted although encryption.default is on: %v", err)
	}
	if err := cli.WaitForMembership(wctx, inv.RoomID, ghost, event.MembershipJoin); err != nil {
		t.Fatalf("the ghost %s is not in the portal: %v", ghost, err)
	}
	return inv.RoomID
}

// isChatInvite matches invitations to chat rooms: not the management room,
// and not a space (the bridge's per-login space is invited to as well).
func isChatInvite(mgmt id.RoomID) func(mxclient.Invite) bool {
	return func(inv mxclient.Invite) bool { return inv.RoomID != mgmt && inv.RoomType == "" }
}

// waitGhostMessage waits for text from ghost in room and checks it was
// end-to-end encrypted (and therefore decrypted by the client).
func waitGhostMessage(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, ghost id.UserID, mark int, text, what string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	got, err := cli.WaitForMessage(wctx, room, ghost, mark, func(c *event.MessageEventContent) bool { return c.Body == text })
	if err != nil {
		t.Fatalf("%s did not reach Matrix: %v", what, err)
	}
	if !got.Encrypted {
		t.Errorf("%s arrived unencrypted in the encrypted portal", what)
	}
}

func countGhostMessages(cli *mxclient.Client, room id.RoomID, ghost id.UserID, mark int, text string) int {
	n := 0
	for _, r := range cli.Messages(room, mark) {
		if r.Event.Sender == ghost && r.Event.Content.AsMessage().Body == text {
			n++
		}
	}
	return n
}

// checkGhostName checks the ghost's display name in the room, which is
// what Matrix clients show next to its messages.
func checkGhostName(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, ghost id.UserID, want string) {
	t.Helper()
	members, err := cli.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatalf("list portal members: %v", err)
	}
	m, ok := members.Joined[ghost]
	if !ok {
		t.Fatalf("ghost %s is not a joined member of the portal", ghost)
	}
	if m.DisplayName != want {
		t.Errorf("ghost %s is shown as %q in the portal, want %q", ghost, m.DisplayName, want)
	}
}

func waitTyping(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, ghost id.UserID, typing bool) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	if err := cli.WaitForTyping(wctx, room, ghost, typing); err != nil {
		t.Errorf("UCWA typing=%t did not show as the ghost's typing in Matrix: %v", typing, err)
	}
}

// sendAndAwaitLync sends text into the portal and waits for bob to get it
// from fromSIP in the emulator.
func sendAndAwaitLync(t *testing.T, ctx context.Context, cli *mxclient.Client, room id.RoomID, emu *ucwaemu.Emulator, fromSIP, text, what string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	n := len(emu.Received(lyncBobSIP)) + 1
	if _, err := cli.SendText(wctx, room, text); err != nil {
		t.Fatal(err)
	}
	got, err := emu.WaitReceived(wctx, lyncBobSIP, n)
	if err != nil {
		t.Fatalf("%s did not reach bob in UCWA: %v; bob received: %s", what, err, describeReceived(got))
	}
	if countReceived(emu, lyncBobSIP, fromSIP, text) == 0 {
		t.Fatalf("%s: bob received a message, but not %q from %s: %s", what, text, fromSIP, describeReceived(emu.Received(lyncBobSIP)))
	}
}

// countReceived counts the messages to sip from fromSIP with this text.
func countReceived(emu *ucwaemu.Emulator, sip, fromSIP, text string) int {
	n := 0
	for _, m := range emu.Received(sip) {
		if m.From == "sip:"+fromSIP && m.Text == text {
			n++
		}
	}
	return n
}

func describeReceived(msgs []ucwaemu.Message) string {
	var parts []string
	for _, m := range msgs {
		parts = append(parts, fmt.Sprintf("%s: %q", m.From, m.Text))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// checkLyncMetrics checks that /metrics counts the bridged messages.
func checkLyncMetrics(t *testing.T, ctx context.Context) {
	t.Helper()
	text, err := scrapeMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"to_matrix", "to_remote"} {
		v, ok := metricValue(text, "imbridge_messages_bridged_total", map[string]string{"direction": dir, "protocol": "lync"})
		if !ok {
			t.Errorf("/metrics has no imbridge_messages_bridged_total{direction=%q,protocol=\"lync\"}", dir)
			continue
		}
		if v < 1 {
			t.Errorf("imbridge_messages_bridged_total{direction=%q,protocol=\"lync\"} = %v after bridging Lync messages, want ≥ 1", dir, v)
		}
	}
}
