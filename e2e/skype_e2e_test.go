//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/testenv"
	"github.com/imbridge/imbridge/testenv/bridgeproc"
)

// skypeEmu is the Skype web API emulator the bridge's network.skype points
// at; it runs in the test process for the whole package run.
var skypeEmu *skypeemu.Emulator

const (
	skypeBob     = "bob.e2e"
	skypeBobName = "Bob Example"
)

func init() { setupHooks = append(setupHooks, startSkypeEmulator) }

// startSkypeEmulator serves the Skype emulator on a loopback port and
// points every host of the bridge's network.skype section at it.
func startSkypeEmulator(context.Context) (func(*bridgeproc.Config) error, func(), error) {
	emu := skypeemu.New(skypeemu.Options{PollHold: 5 * time.Second})
	emu.Start()
	emu.AddUser(skypeBob, skypeBobName, "bob-pw")
	skypeEmu = emu
	u := emu.URL()
	edit := func(cfg *bridgeproc.Config) error {
		settings := map[string]any{"network.skype.enabled": true, "network.skype.allow_insecure_http": true, "network.skype.allow_private_addresses": true}
		for _, k := range []string{"login_live_url", "edge_url", "login_skype_url", "api_url", "contacts_url", "profile_url", "msgs_host", "asm_url"} {
			settings["network.skype."+k] = u
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

// skypeGhost is the Matrix ID of the ghost of a Skype user.
func skypeGhost(name string) id.UserID {
	return id.NewUserID("imbridge_skype.8=3a"+strings.ReplaceAll(name, ":", "=3a"), env.Synapse.ServerName)
}

// TestSkypeConversation drives a Skype 1:1 through the real bridge against
// the emulator: login through the bot in an encrypted DM, a message from a
// contact opening an encrypted DM portal with the named ghost, the reply,
// and a SIGKILL of the bridge with a message arriving while it is down,
// after which every message must have arrived exactly once each way.
func TestSkypeConversation(t *testing.T) {
	requireEnv(t)
	if skypeEmu == nil {
		t.Fatal("the Skype emulator was not started by the set-up hook")
	}
	emu := skypeEmu
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge debug log (JSON): %s", env.Bridge.LogPath)
		}
	})
	suffix, err := testenv.RandomString(4)
	if err != nil {
		t.Fatal(err)
	}
	password, err := testenv.RandomString(10)
	if err != nil {
		t.Fatal(err)
	}
	me := "live:carol" + strings.ToLower(suffix)
	emu.AddUser(me, "Carol Example", password)
	emu.AddContact(me, skypeBob)
	bobGhost := skypeGhost(skypeBob)

	user := newUser(t, ctx, "skype")
	mgmt := openManagementRoom(t, ctx, user)
	want := fmt.Sprintf("Signed in to Skype as Carol Example (%s).", me)
	if reply := botCommand(t, ctx, user, mgmt, "login skype "+me+" "+password, want); !strings.Contains(reply, want) {
		t.Fatalf("`login skype` said %q, want %q", reply, want)
	}

	inviteMark, mark := user.InviteMark(), user.Mark()
	text1 := "Hi Carol, lunch today? [" + suffix + "-1]"
	emu.Send(skypeBob, me, text1)
	portal := joinLyncPortal(t, ctx, user, inviteMark, mgmt, bobGhost)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text1, "bob's first message")
	checkGhostName(t, ctx, user, portal, bobGhost, skypeBobName)

	reply1 := "Sure, 12:30. [" + suffix + "-r1]"
	sendAndAwaitSkype(t, ctx, user, portal, emu, me, reply1)

	if err := env.Bridge.Kill(); err != nil {
		t.Fatalf("kill bridge: %v", err)
	}
	text2 := "Are you there? (sent while the bridge was down) [" + suffix + "-2]"
	emu.Send(skypeBob, me, text2)
	if err := env.Bridge.Start(ctx); err != nil {
		t.Fatalf("restart bridge after kill: %v", err)
	}
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text2, "bob's message sent while the bridge was down")
	text3 := "OK, see you. [" + suffix + "-3]"
	emu.Send(skypeBob, me, text3)
	waitGhostMessage(t, ctx, user, portal, bobGhost, mark, text3, "bob's message after the restart")
	for _, text := range []string{text1, text2, text3} {
		if n := countGhostMessages(user, portal, bobGhost, mark, text); n != 1 {
			t.Errorf("the user saw %q %d times in the portal, want exactly once", text, n)
		}
	}
	reply2 := "Running late. [" + suffix + "-r2]"
	sendAndAwaitSkype(t, ctx, user, portal, emu, me, reply2)
	for _, text := range []string{reply1, reply2} {
		if n := countSkypeSent(emu, me, text); n != 1 {
			t.Errorf("Skype has %q %d times from %s, want exactly once", text, n, me)
		}
	}
}

// sendAndAwaitSkype sends text into the portal and waits for the emulator
// to hold it as a message from the user.
func sendAndAwaitSkype(t *testing.T, ctx context.Context, cli interface {
	SendText(context.Context, id.RoomID, string) (id.EventID, error)
}, room id.RoomID, emu *skypeemu.Emulator, from, text string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, lyncStepTimeout)
	defer cancel()
	if _, err := cli.SendText(wctx, room, text); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for countSkypeSent(emu, from, text) == 0 {
		select {
		case <-wctx.Done():
			t.Fatalf("%q did not reach Skype: %v", text, wctx.Err())
		case <-tick.C:
		}
	}
}

func countSkypeSent(emu *skypeemu.Emulator, from, text string) int {
	n := 0
	for _, m := range emu.SentBy(from) {
		if m.Content == text {
			n++
		}
	}
	return n
}
