package skype

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

const (
	carolMX   = id.UserID("@carol:" + bridgetest.ServerName) // the Matrix user
	carol     = "live:carol"                                 // her Skype account
	carolPass = "carol-pw"
	bob       = "bob.2"
	alice     = "live:alice"
	carolLID  = networkid.UserLoginID("skype.live:carol")
)

// env is a Skype emulator, a bridge in-process with the Skype protocol,
// and a Matrix user with a management room.
type env struct {
	t    testing.TB
	emu  *skypeemu.Emulator
	conn *Connector
	h    *bridgetest.Harness
	// backfill turns on bridgev2's backfill (initial and catch-up).
	backfill bool
	// eventBuffer is bridgev2's portal_event_buffer (0: events are handled
	// synchronously); the shipped config has 64.
	eventBuffer int
	// noPrivate keeps allow_private_addresses off and the connector's own
	// HTTP clients (the emulator on 127.0.0.1 is then out of reach).
	noPrivate bool
	// log, when set, is the bridge's logger (else SKYPE_TEST_LOG decides).
	log *zerolog.Logger
	// sendReconnectWait is bridge.send_reconnect_wait (the shipped config
	// has 30 s; 0 here unless a test sets it).
	sendReconnectWait time.Duration
	// realWaits keeps the connector's own retry waits (Retry-After
	// honoured in full) instead of the few milliseconds tests use.
	realWaits bool
}

type envOption func(*env, *skypeemu.Options)

// withBackfill is used by the backfill tests.
func withBackfill() envOption { return func(e *env, _ *skypeemu.Options) { e.backfill = true } }

// withEventBuffer queues remote events per portal as the shipped config
// does (portal_event_buffer: 64) instead of handling them in the caller.
func withEventBuffer() envOption { return func(e *env, _ *skypeemu.Options) { e.eventBuffer = 64 } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t}
	eo := skypeemu.Options{PollHold: 200 * time.Millisecond}
	for _, o := range opts {
		o(e, &eo)
	}
	e.emu = skypeemu.New(eo)
	e.emu.Start()
	t.Cleanup(e.emu.Close)
	e.emu.AddUser(carol, "Carol Clark", carolPass)
	e.emu.AddUser(bob, "Bob Brown", "bob-pw")
	e.emu.AddUser(alice, "Alice Adams", "alice-pw")
	e.start("")
	return e
}

// start (re)starts the bridge; dbPath "" makes a new database. A restart
// keeps the fake homeserver.
func (e *env) start(dbPath string) {
	e.t.Helper()
	e.conn = New()
	if !e.noPrivate {
		e.conn.HTTPClient = &http.Client{Timeout: 10 * time.Second}
		e.conn.PollHTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if !e.realWaits {
		e.conn.RetryBackoffMin = 5 * time.Millisecond
	}
	u := e.emu.URL()
	cfg := fmt.Sprintf(`
metrics: {enabled: false}
skype:
    enabled: true
    login_live_url: %[1]q
    edge_url: %[1]q
    login_skype_url: %[1]q
    api_url: %[1]q
    contacts_url: %[1]q
    profile_url: %[1]q
    msgs_host: %[1]q
    asm_url: %[1]q
    allow_insecure_http: true
    allow_private_addresses: %[2]t
    credential_key: test-key
`, u, !e.noPrivate)
	var hs *bridgetest.Matrix
	if e.h != nil {
		hs = e.h.Matrix
	}
	log := e.log
	if log == nil && os.Getenv("SKYPE_TEST_LOG") != "" {
		l := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
		log = &l
	}
	e.h = bridgetest.New(e.t, bridge.New([]protocol.Protocol{e.conn}...), bridgetest.Options{
		NetworkConfig: cfg, DBPath: dbPath, Matrix: hs, Log: log,
		Configure: func(c *bridgeconfig.BridgeConfig) {
			c.PrivateChatPortalMeta = true
			c.PortalEventBuffer = e.eventBuffer
			c.BridgeNotices = true // as the shipped config has it
			c.SendReconnectWait = e.sendReconnectWait
			if e.backfill {
				c.Backfill.Enabled = true
				c.Backfill.MaxInitialMessages = 50
				c.Backfill.MaxCatchupMessages = 500
			}
		},
	})
}

// restart stops the bridge and starts a new one on the same database.
func (e *env) restart() { // used by the session tests
	e.t.Helper()
	db := e.h.DBPath
	e.h.Stop()
	e.start(db)
}

// login signs carol in through the bot and waits until she is connected.
func (e *env) login() *Client {
	e.t.Helper()
	e.h.CommandPrompt(carolMX, "login skype", "E-mail or Skype name")
	e.h.CommandPrompt(carolMX, carol, "Password")
	e.h.CommandExpect(carolMX, carolPass, "Signed in to Skype as Carol Clark")
	return e.connected()
}

func (e *env) client() *Client {
	e.t.Helper()
	return bridgetest.LoginClient[*Client](e.h, carolLID)
}

func (e *env) connected() *Client {
	e.t.Helper()
	e.h.WaitConnected("carol's Skype login to be connected", carolLID, nil)
	return e.client()
}

func (e *env) ghost(name string) id.UserID {
	return e.h.Matrix.FormatGhostMXID(ghostID("8:" + name))
}

func (e *env) portal(conv string) networkid.PortalKey {
	return networkid.PortalKey{ID: ids.PortalID(ids.Skype, conv), Receiver: carolLID}
}

// dmRoom waits for the DM portal with a Skype user.
func (e *env) dmRoom(name string) id.RoomID {
	e.t.Helper()
	return e.h.PortalRoom(e.portal("8:" + name))
}

func (e *env) texts(room id.RoomID, sender id.UserID) []string {
	return e.h.Texts(room, sender)
}

// waitTexts waits until sender has sent exactly want into room.
func (e *env) waitTexts(room id.RoomID, sender id.UserID, want ...string) {
	e.t.Helper()
	e.h.WaitTexts(e.texts, room, sender, want...)
}

// sentBy waits until who has sent n messages (edit records excluded).
func (e *env) sentBy(who string, n int) []skypeemu.Message {
	e.t.Helper()
	var got []skypeemu.Message
	e.h.WaitFor(fmt.Sprintf("%s to have sent %d Skype messages", who, n), func() bool {
		got = got[:0]
		for _, m := range e.emu.SentBy(who) {
			if m.EditedID == "" {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	if len(got) != n {
		e.t.Fatalf("%s sent %d messages, want %d: %+v", who, len(got), n, got)
	}
	return got
}

func (e *env) status(evt id.EventID) bridgetest.MessageStatus {
	e.t.Helper()
	return e.h.WaitStatus(evt)
}
