//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// TestEncryptedManagementRoom drives the bridge bot like an Element user:
// an encrypted DM, encrypted commands, and encrypted replies that the
// client must decrypt.
func TestEncryptedManagementRoom(t *testing.T) {
	requireEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := newUser(t, ctx, "alice")
	room := openManagementRoom(t, ctx, alice)
	// The bot's `version` must name the same version as the binary's
	// --version, e.g. "imbridge 0.1.0+dev.unknown (built with go1.26.8)".
	binVersion, err := env.Bridge.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(binVersion)
	if len(fields) < 2 || fields[0] != "imbridge" {
		t.Fatalf("imbridge --version printed %q, want \"imbridge <version> ...\"", binVersion)
	}

	commands := []struct {
		cmd  string
		want []string // case-insensitive substrings of the reply
	}{
		{"help", []string{"login", "list-logins"}},
		{"version", []string{"imbridge", fields[1]}},
		{"list-logins", []string{"not logged in"}},
	}
	for _, c := range commands {
		mark := alice.Mark()
		if _, err := alice.SendText(ctx, room, c.cmd); err != nil {
			t.Fatal(err)
		}
		// Commands in one room are answered in order, and the greeting was
		// already seen, so the bot's next message is the reply.
		reply, err := alice.WaitForMessage(ctx, room, env.BotMXID, mark, nil)
		if err != nil {
			t.Fatalf("no reply to %q: %v", c.cmd, err)
		}
		body := reply.Event.Content.AsMessage().Body
		if !reply.Encrypted {
			t.Errorf("reply to %q was sent unencrypted into an encrypted room", c.cmd)
		}
		if !containsAll(c.want...)(reply.Event.Content.AsMessage()) {
			t.Errorf("reply to %q = %q, want it to contain %q", c.cmd, body, c.want)
		}
	}
	for _, r := range alice.Messages(room, 0) {
		if r.Event.Sender == env.BotMXID && !r.Encrypted {
			t.Errorf("bot sent a plaintext message into the encrypted DM: %q", r.Event.Content.AsMessage().Body)
		}
	}
}

// markdownLink matches [text](url) in plain-text bodies, which the bot's
// markdown replies keep.
var markdownLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// containsAll matches message bodies containing every word, ignoring case
// and markdown link syntax.
func containsAll(words ...string) func(*event.MessageEventContent) bool {
	return func(c *event.MessageEventContent) bool {
		body := strings.ToLower(markdownLink.ReplaceAllString(c.Body, "$1"))
		for _, w := range words {
			if !strings.Contains(body, strings.ToLower(w)) {
				return false
			}
		}
		return true
	}
}

// TestBridgeRecoversAfterKill kills the bridge mid-conversation (SIGKILL,
// as in a crash or power cut), starts it again with the same config and
// database, and checks that the bot still answers in the existing
// encrypted management room: its device and keys survived.
func TestBridgeRecoversAfterKill(t *testing.T) {
	requireEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bob := newUser(t, ctx, "bob")
	room := openManagementRoom(t, ctx, bob)

	if err := env.Bridge.Kill(); err != nil {
		t.Fatalf("kill bridge: %v", err)
	}
	if err := env.Bridge.Start(ctx); err != nil {
		t.Fatalf("restart bridge after kill: %v", err)
	}
	mark := bob.Mark()
	if _, err := bob.SendText(ctx, room, "list-logins"); err != nil {
		t.Fatal(err)
	}
	reply, err := bob.WaitForMessage(ctx, room, env.BotMXID, mark, nil)
	if err != nil {
		t.Fatalf("no reply after the restart: %v", err)
	}
	if !reply.Encrypted {
		t.Error("reply after the restart was not encrypted")
	}
	if body := reply.Event.Content.AsMessage().Body; !strings.Contains(strings.ToLower(body), "not logged in") {
		t.Errorf("list-logins after the restart = %q, want it to say the user is not logged in", body)
	}
}
