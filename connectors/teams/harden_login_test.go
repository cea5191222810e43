package teams

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

// Issue 7 item 18: when the bot has no power to delete the message holding
// a pasted refresh token, the user is told to delete it; with the power,
// nothing is said.
func TestHardenUndeletableRefreshTokenMessageIsFlagged(t *testing.T) {
	e := newEnv(t)
	// The harness's management room is a DM alice created: the bot has
	// power level 0 there, below the redact level.
	// One command each (flow, account type, token): no prompt to race.
	e.h.CommandExpect(alice, "login teams-token free not-a-token", "Please delete it yourself")

	room := e.h.ManagementRoom(alice)
	_, err := e.h.Matrix.BotIntent().SendState(e.h.Ctx, room, event.StatePowerLevels, "", &event.Content{
		Parsed: &event.PowerLevelsEventContent{Users: map[id.UserID]int{bridgetest.BotMXID: 100, alice: 100}},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	if reply := e.h.CommandExpect(alice, "login teams-token free "+token, "Signed in to Microsoft Teams"); strings.Contains(reply, "delete it yourself") {
		t.Fatalf("warned although the bot can redact: %q", reply)
	}
}

// lockedBuffer is a log sink tests read while the bridge writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// teamsSecret matches every credential the emulator mints: refresh tokens
// (1.A…), access tokens (eyJ0eX…), skypetokens (eyJhbG…), and the device
// code behind the user code.
var teamsSecret = regexp.MustCompile(`1\.A[0-9a-f]{32}|eyJ0eXAiOiJKV1QifQ\.[0-9a-f]+|eyJhbGciOiJSUzI1NiJ9\.[0-9a-f]+`)

// Secrets never reach the logs, at trace level, through a device-code
// login, a pasted refresh token (good and bad), messages both ways,
// refreshed tokens and a restart.
func TestHardenTeamsSecretsNeverLogged(t *testing.T) {
	sink := &lockedBuffer{}
	e := newEnv(t, func(e *env, _ *teamsemu.Options) {
		l := zerolog.New(sink).Level(zerolog.TraceLevel)
		e.log = &l
	})
	e.login(e.me)
	dm := e.emu.OneToOne(e.bob.MRI, e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "hello")
	room := e.room(e.me, dm)
	e.waitTexts(room, e.ghost(e.bob), "hello")
	if st := e.status(e.h.SendText(room, alice, "hi bob")); !isSuccess(st) {
		t.Fatalf("send: %+v", st)
	}
	e.h.CommandExpect(alice, "login teams-token free 1.Aabad0123456789abcdef0123456789ab", "refused")
	token := e.emu.IssueRefreshToken(e.free.MRI, teamsapi.TeamsPersonalClientID, "")
	e.h.CommandExpect(alice, "login teams-token free "+token, "Signed in to Microsoft Teams")
	e.connected(e.free)
	e.emu.ExpireAccessTokens(e.me.MRI)
	e.emu.ExpireSkypeTokens(e.me.MRI)
	e.emu.SendText(e.bob.MRI, dm, "after expiry")
	e.waitTexts(room, e.ghost(e.bob), "hello", "after expiry")
	e.restart()
	e.connected(e.me)
	e.emu.SendText(e.bob.MRI, dm, "after restart")
	e.waitTexts(room, e.ghost(e.bob), "hello", "after expiry", "after restart")

	logs := sink.String()
	if len(logs) < 1000 {
		t.Fatalf("only %d bytes of logs: the sink is not the bridge's log", len(logs))
	}
	if found := teamsSecret.FindAllString(logs, 5); len(found) > 0 {
		t.Fatalf("credentials in the logs: %q", found)
	}
	if strings.Contains(logs, token) || strings.Contains(logs, "1.Aabad0123456789abcdef0123456789ab") {
		t.Fatal("a pasted refresh token is in the logs")
	}
}
