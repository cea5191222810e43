package teams

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// Issue 7 item 18: when the bot has no power to delete the message holding
// a pasted refresh token, the user is told to delete it; with the power,
// nothing is said.
func TestHardenUndeletableRefreshTokenMessageIsFlagged(t *testing.T) {
	e := newEnv(t)
	// The harness's management room is a DM alice created: the bot has
	// power level 0 there, below the redact level.
	e.h.CommandPrompt(alice, "login teams-token", "Account type")
	e.h.CommandPrompt(alice, "free", "Refresh token")
	e.h.CommandExpect(alice, "not-a-token", "Please delete it yourself")

	room := e.h.ManagementRoom(alice)
	_, err := e.h.Matrix.BotIntent().SendState(e.h.Ctx, room, event.StatePowerLevels, "", &event.Content{
		Parsed: &event.PowerLevelsEventContent{Users: map[id.UserID]int{bridgetest.BotMXID: 100, alice: 100}},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	e.h.CommandPrompt(alice, "login teams-token", "Account type")
	e.h.CommandPrompt(alice, "free", "Refresh token")
	if reply := e.h.CommandExpect(alice, token, "Signed in to Microsoft Teams"); strings.Contains(reply, "delete it yourself") {
		t.Fatalf("warned although the bot can redact: %q", reply)
	}
}
