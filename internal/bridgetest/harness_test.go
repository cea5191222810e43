package bridgetest_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2/commands"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// A prompt that follows another one (a name, then a code) is visible before
// bridgev2 replaces the first prompt's command state with its own. The
// homeserver here answers the second prompt's send late, which holds
// bridgev2 exactly in that gap: CommandPrompt must not return on the first
// prompt's state, or the test's answer races the late write and leaves a
// stale prompt that refuses the next login.
func TestCommandPromptWaitsForTheStateOfItsOwnPrompt(t *testing.T) {
	fake := fakeproto.New(ids.Teams)
	fake.AskCode = true
	h := bridgetest.New(t, bridge.New(fake), bridgetest.Options{NetworkConfig: "teams: {enabled: true, greeting: hi}\n"})
	alice := id.UserID("@alice:" + bridgetest.ServerName)
	room := h.ManagementRoom(alice)

	returned := make(chan struct{})
	h.Matrix.SetAnswerDelay(func(roomID id.RoomID, sender id.UserID, content *event.Content) {
		msg, _ := content.Parsed.(*event.MessageEventContent)
		if roomID != room || sender != bridgetest.BotMXID || msg == nil || !strings.Contains(msg.Body, "enter your Code") {
			return
		}
		// Keep the state write back until the helper has returned (a helper
		// that returns too early then sees the old state), at most a
		// second (a correct helper waits for the write).
		select {
		case <-returned:
		case <-time.After(time.Second):
		}
	})

	h.CommandPrompt(alice, "login teams", "Name")
	first := commands.LoadCommandState(h.User(alice))
	if first == nil {
		t.Fatal("no command state after the first prompt")
	}
	h.CommandPrompt(alice, "alice@contoso.example", "Code")
	after := commands.LoadCommandState(h.User(alice))
	close(returned)
	if after == nil || after == first {
		t.Fatalf("CommandPrompt returned while the first prompt's state was stored (state %p, first %p)", after, first)
	}

	h.CommandExpect(alice, "secret", "Logged in as")
	// No stale prompt is left: the next login starts.
	if reply := h.CommandPrompt(alice, "login teams", "Name"); strings.Contains(reply, "already have an ongoing") {
		t.Fatalf("the next login was refused: %q", reply)
	}
}
