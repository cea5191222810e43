package teams

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

const alice = id.UserID("@alice:" + bridgetest.ServerName) // the Matrix user

// env is a Teams emulator, a bridge in-process, and a Matrix user.
type env struct {
	t     testing.TB
	emu   *teamsemu.Emulator
	url   string
	conn  *Connector
	h     *bridgetest.Harness
	log   *zerolog.Logger
	me    *teamsemu.User // alice's work account
	bob   *teamsemu.User
	carol *teamsemu.User
	free  *teamsemu.User // alice's Teams free account
	frank *teamsemu.User // a Teams free contact
	// backfill turns on bridgev2's backfill (initial history).
	backfill bool
	// directMedia turns on bridgev2's direct media.
	directMedia bool
	// credKey is network.teams.credential_key ("" = test-key).
	credKey string
	// eventBuffer is bridgev2's portal_event_buffer (0: events are handled
	// synchronously, as the harness does by default).
	eventBuffer int
}

func testLogger() *zerolog.Logger {
	if os.Getenv("TEAMS_TEST_LOG") == "" {
		return nil
	}
	l := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger().Level(zerolog.DebugLevel)
	return &l
}

func newEnv(t *testing.T, opts ...func(*env, *teamsemu.Options)) *env {
	t.Helper()
	e := &env{t: t, log: testLogger()}
	// TEAMS_TEST_EVENT_BUFFER runs the tests with bridgev2's portal event
	// buffer on, as production configs have it.
	if v := os.Getenv("TEAMS_TEST_EVENT_BUFFER"); v != "" {
		fmt.Sscan(v, &e.eventBuffer)
	}
	emuOpts := teamsemu.Options{}
	for _, o := range opts {
		o(e, &emuOpts)
	}
	e.emu = teamsemu.New(emuOpts)
	e.url = e.emu.Start()
	t.Cleanup(e.emu.Close)
	e.me = e.emu.AddUser("alice@contoso.com", "Alice Adams")
	e.bob = e.emu.AddUser("bob@contoso.com", "Bob Brown")
	e.carol = e.emu.AddUser("carol@contoso.com", "Carol Clark")
	e.free = e.emu.AddConsumerUser("alice@outlook.com", "Alice Free")
	e.frank = e.emu.AddConsumerUser("frank@outlook.com", "Frank Friend")
	e.start("")
	return e
}

func withBackfill() func(*env, *teamsemu.Options) {
	return func(e *env, _ *teamsemu.Options) { e.backfill = true }
}

func (e *env) start(dbPath string) {
	e.t.Helper()
	e.conn = New()
	e.conn.RetryBackoffMin = 20 * time.Millisecond
	e.conn.TrouterBackoff = 20 * time.Millisecond
	e.conn.HorizonPoll = 50 * time.Millisecond
	u := e.url
	cfg := fmt.Sprintf(`
metrics: {enabled: false}
teams:
    enabled: true
    tenant: organizations
    work:
        login_url: %[1]s
        authz_url: %[1]s/api/authsvc/v1.0/authz
        trouter_url: %[1]s
        registrar_url: %[1]s/registrar/prod/V2/registrations
    consumer:
        login_url: %[1]s
        authz_url: %[1]s/api/auth/v1.0/authz/consumer
        chat_service_url: %[1]s
        ams_url: %[1]s/ams
        middle_tier_url: %[1]s/mt
        trouter_url: %[1]s
        registrar_url: %[1]s/registrar/prod/V2/registrations
    allow_insecure_http: true
    credential_key: %[2]s
    initial_chats: 10
    initial_messages: 20
`, u, firstNonEmpty(e.credKey, "test-key"))
	var hs *bridgetest.Matrix
	if e.h != nil {
		hs = e.h.Matrix
	}
	backfill, buffer := e.backfill, e.eventBuffer
	e.h = bridgetest.New(e.t, bridge.New([]protocol.Protocol{e.conn}...), bridgetest.Options{
		NetworkConfig: cfg, DBPath: dbPath, Matrix: hs, Log: e.log, DirectMedia: e.directMedia,
		Configure: func(bc *bridgeconfig.BridgeConfig) {
			bc.PortalEventBuffer = buffer
			if backfill {
				bc.Backfill.Enabled = true
				bc.Backfill.MaxInitialMessages = 50
				bc.Backfill.MaxCatchupMessages = 50
			}
		},
	})
}

func (e *env) restart() {
	e.t.Helper()
	db := e.h.DBPath
	e.h.Stop()
	e.start(db)
}

func (e *env) loginID(u *teamsemu.User) networkid.UserLoginID {
	return ids.UserLoginID(ids.Teams, u.MRI)
}

// login signs alice's work account in through the device-code flow,
// approving the code through the emulator's test API.
func (e *env) login(u *teamsemu.User) *Client {
	e.t.Helper()
	kind := "work"
	if u.Consumer {
		kind = "free"
	}
	e.h.CommandPrompt(alice, "login teams", "Account type")
	before := len(e.h.BotReplies(alice))
	go func() {
		if !e.emu.WaitFor(bridgetest.DefaultWait, func() bool { return len(e.emu.PendingDeviceCodes()) > 0 }) {
			return
		}
		for _, code := range e.emu.PendingDeviceCodes() {
			e.emu.ApproveDeviceCode(code, u.Email)
		}
	}()
	e.h.CommandExpect(alice, kind, "Signed in to Microsoft Teams as "+u.Name)
	replies := strings.Join(e.h.BotReplies(alice)[before:], "\n")
	if !strings.Contains(replies, "enter the code") {
		e.t.Fatalf("the bot did not show the device code and URL: %q", replies)
	}
	return e.connected(u)
}

func (e *env) client(u *teamsemu.User) *Client {
	e.t.Helper()
	return bridgetest.LoginClient[*Client](e.h, e.loginID(u))
}

func (e *env) connected(u *teamsemu.User) *Client {
	e.t.Helper()
	e.h.WaitConnected(u.Email+"'s Teams login to be connected", e.loginID(u), func() bool {
		return e.emu.Trouter(u.MRI).Registered > 0
	})
	return e.client(u)
}

func (e *env) ghost(u *teamsemu.User) id.UserID {
	return e.h.Matrix.FormatGhostMXID(ids.UserID(ids.Teams, u.MRI))
}

func (e *env) room(owner *teamsemu.User, conv string) id.RoomID {
	e.t.Helper()
	return e.h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Teams, conv), Receiver: e.loginID(owner)})
}

func (e *env) texts(room id.RoomID, sender id.UserID) []string {
	return e.h.TextsWithoutEdits(room, sender)
}

func (e *env) waitTexts(room id.RoomID, sender id.UserID, want ...string) {
	e.t.Helper()
	e.h.WaitTexts(e.texts, room, sender, want...)
}

// sentBy waits until u has sent n messages on the Teams side.
func (e *env) sentBy(u *teamsemu.User, n int) []teamsemu.Message {
	e.t.Helper()
	if !e.emu.WaitFor(bridgetest.DefaultWait, func() bool { return len(e.emu.MessagesFrom(u.MRI)) >= n }) {
		e.t.Fatalf("%s sent %d messages, want %d", u.Email, len(e.emu.MessagesFrom(u.MRI)), n)
	}
	return e.emu.MessagesFrom(u.MRI)
}

func (e *env) status(evt id.EventID) bridgetest.MessageStatus {
	e.t.Helper()
	return e.h.WaitStatus(evt)
}

// eventFor finds the Matrix event of a remote message.
func (e *env) eventFor(room id.RoomID, msgID string) id.EventID {
	e.t.Helper()
	var evt id.EventID
	e.h.WaitFor("the Matrix event of "+msgID, func() bool {
		m, err := e.h.Bridge.DB.Message.GetFirstPartByID(context.Background(), e.loginID(e.me), ids.MessageID(ids.Teams, msgID))
		if err == nil && m != nil {
			evt = m.MXID
			return true
		}
		return false
	})
	_ = room
	return evt
}

func isSuccess(st bridgetest.MessageStatus) bool { return st.Status == event.MessageStatusSuccess }
