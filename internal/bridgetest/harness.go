// Package bridgetest runs a real bridgev2.Bridge in-process, with a SQLite
// database in a temporary directory and a fake homeserver (Matrix) that records
// what the bridge sends, so connector tests can say "when the remote side does
// X, the Matrix side sees Y" without a homeserver (bridgev2 notes §5).
package bridgetest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	_ "go.mau.fi/util/dbutil/litestream" // registers sqlite3-fk-wal
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/bridgev2/commands"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Options configure a Harness.
type Options struct {
	// NetworkConfig is YAML decoded into the connector's config (the
	// `network:` section of a real config file).
	NetworkConfig string
	// DBPath is the SQLite file; empty means a new file in t.TempDir(). Reuse
	// it to simulate a bridge restart.
	DBPath string
	// Log receives the bridge's logs; the zero value discards them.
	Log *zerolog.Logger
	// Configure may adjust the bridge config before the bridge is created.
	Configure func(*bridgeconfig.BridgeConfig)
	// Matrix reuses a fake homeserver (a restarted bridge talks to the same
	// homeserver, whose rooms and events stay); nil makes a new one.
	Matrix *Matrix
	// DirectMedia turns on direct media, as the bridge config's
	// direct_media.enabled does.
	DirectMedia bool
}

// Harness is a running bridge with a fake homeserver.
type Harness struct {
	T         testing.TB
	Bridge    *bridgev2.Bridge
	Matrix    *Matrix
	Connector bridgev2.NetworkConnector
	DB        *dbutil.Database
	DBPath    string
	Ctx       context.Context

	cancel  context.CancelFunc
	stopped atomic.Bool
}

// New starts a bridge around conn and stops it when the test ends. A test that
// simulates a restart calls Stop and then New again with the same DBPath and a
// fresh connector.
func New(t testing.TB, conn bridgev2.NetworkConnector, opts Options) *Harness {
	t.Helper()
	h, err := start(t, conn, opts)
	if err != nil {
		t.Fatalf("start bridge: %v", err)
	}
	t.Cleanup(h.Stop)
	return h
}

// Start is New for tests of a bridge that must fail to start: it returns the
// error instead of failing the test.
func Start(t testing.TB, conn bridgev2.NetworkConnector, opts Options) (*Harness, error) {
	t.Helper()
	h, err := start(t, conn, opts)
	if err == nil {
		t.Cleanup(h.Stop)
	}
	return h, err
}

func start(t testing.TB, conn bridgev2.NetworkConnector, opts Options) (*Harness, error) {
	log := zerolog.Nop()
	if opts.Log != nil {
		log = *opts.Log
	}
	if opts.DBPath == "" {
		opts.DBPath = filepath.Join(t.TempDir(), "bridge.db")
	}
	if opts.NetworkConfig != "" {
		_, data, _ := conn.GetConfig()
		if err := yaml.Unmarshal([]byte(opts.NetworkConfig), data); err != nil {
			return nil, fmt.Errorf("decode network config: %w", err)
		}
	}
	if v, ok := conn.(bridgev2.ConfigValidatingNetwork); ok {
		if err := v.ValidateConfig(); err != nil {
			return nil, fmt.Errorf("network config: %w", err)
		}
	}
	db, err := openDB(opts.DBPath, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	cfg := &bridgeconfig.BridgeConfig{
		CommandPrefix:     "!im",
		PortalEventBuffer: 0,
		Permissions: bridgeconfig.PermissionConfig{
			"*":        &bridgeconfig.PermissionLevelRelay,
			ServerName: &bridgeconfig.PermissionLevelAdmin,
		},
		UnknownErrorMaxAutoReconnects: 0,
		// As in the example config: error states are told to the user.
		BridgeStatusNotices: "errors",
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	fake := opts.Matrix
	if fake == nil {
		fake = NewMatrix()
	}
	fake.DirectMedia = opts.DirectMedia
	br := bridgev2.NewBridge("", db, log, cfg, fake, conn, commands.NewProcessor)
	ctx, cancel := context.WithCancel(log.WithContext(context.Background()))
	h := &Harness{T: t, Bridge: br, Matrix: fake, Connector: conn, DB: db, DBPath: opts.DBPath, Ctx: ctx, cancel: cancel}
	if err = br.StartConnectors(ctx); err != nil {
		cancel()
		_ = db.Close()
		return nil, fmt.Errorf("start connectors: %w", err)
	}
	if err = br.StartLogins(ctx); err != nil {
		h.Stop()
		return nil, fmt.Errorf("start logins: %w", err)
	}
	return h, nil
}

// Stop stops the bridge and closes its database; it is safe to call twice.
func (h *Harness) Stop() {
	if h.stopped.Swap(true) {
		return
	}
	h.Bridge.StopWithTimeout(5 * time.Second)
	h.cancel()
	_ = h.DB.Close()
	// Every row must load again, as after a restart (see CheckStoredMetadata).
	if err := h.checkAfterStop(); err != nil {
		h.T.Errorf("stored rows that would not load after a restart:\n%v", err)
	}
}

// User returns the bridge user for an MXID.
func (h *Harness) User(mxid id.UserID) *bridgev2.User {
	h.T.Helper()
	u, err := h.Bridge.GetUserByMXID(h.Ctx, mxid)
	if err != nil {
		h.T.Fatalf("get user %s: %v", mxid, err)
	}
	return u
}

// ManagementRoom returns the user's DM with the bot, creating it like a user
// who invites the bot would.
func (h *Harness) ManagementRoom(mxid id.UserID) id.RoomID {
	h.T.Helper()
	u := h.User(mxid)
	roomID := id.RoomID("!mgmt-" + strings.TrimPrefix(string(mxid), "@"))
	if h.Matrix.Room(roomID) == nil {
		// A restarted harness has a new fake homeserver; the room lives on.
		h.Matrix.AddRoom(roomID, map[id.UserID]event.Membership{mxid: event.MembershipJoin, BotMXID: event.MembershipJoin})
	}
	if u.ManagementRoom == roomID {
		return roomID
	}
	u.ManagementRoom = roomID
	if err := h.Bridge.DB.User.Update(h.Ctx, u.User); err != nil {
		h.T.Fatalf("save management room: %v", err)
	}
	return roomID
}

var txnCounter atomic.Int64

// SendMatrix delivers a Matrix event from sender to the bridge, as the
// homeserver would in an appservice transaction, and returns its event ID.
func (h *Harness) SendMatrix(roomID id.RoomID, sender id.UserID, evtType event.Type, content any) id.EventID {
	h.T.Helper()
	evtID := id.EventID(fmt.Sprintf("$user%d:%s", txnCounter.Add(1), ServerName))
	evt := &event.Event{
		Type: evtType, RoomID: roomID, Sender: sender, ID: evtID,
		Timestamp: time.Now().UnixMilli(), Content: event.Content{Parsed: content},
	}
	if evtType.Class == event.EphemeralEventType {
		// Ephemeral events reach appservices without a sender.
		evt.Mautrix.EventSource = event.SourceEphemeral
		evt.Sender = ""
	}
	if evtType.Class == event.StateEventType {
		sk := ""
		if mc, ok := content.(*event.MemberEventContent); ok && mc != nil {
			sk = string(sender)
		}
		evt.StateKey = &sk
	}
	h.Bridge.QueueMatrixEvent(h.Ctx, evt)
	return evtID
}

// SendMatrixState delivers a state event (such as an invite) from sender.
func (h *Harness) SendMatrixState(roomID id.RoomID, sender id.UserID, evtType event.Type, stateKey string, content any) id.EventID {
	h.T.Helper()
	evtID := id.EventID(fmt.Sprintf("$user%d:%s", txnCounter.Add(1), ServerName))
	evt := &event.Event{
		Type: evtType, RoomID: roomID, Sender: sender, ID: evtID, StateKey: &stateKey,
		Timestamp: time.Now().UnixMilli(), Content: event.Content{Parsed: content},
	}
	h.Bridge.QueueMatrixEvent(h.Ctx, evt)
	return evtID
}

// SendText sends a plain m.text message from sender into a room.
func (h *Harness) SendText(roomID id.RoomID, sender id.UserID, body string) id.EventID {
	h.T.Helper()
	return h.SendMatrix(roomID, sender, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
}

// Command sends a command to the bot in the user's management room and waits
// for the bot's next reply there, returning its body.
func (h *Harness) Command(mxid id.UserID, command string) string {
	h.T.Helper()
	room := h.ManagementRoom(mxid)
	before := len(h.botMessages(room))
	h.SendText(room, mxid, command)
	var reply string
	err := h.Matrix.Wait(h.Ctx, DefaultWait, fmt.Sprintf("the bot's reply to %q", command), func() bool {
		msgs := h.botMessages(room)
		if len(msgs) > before {
			reply = msgs[before].Message().Body
			return true
		}
		return false
	})
	if err != nil {
		h.T.Fatal(err)
	}
	return reply
}

// CommandExpect sends a command and waits until one of the bot's new replies
// contains want; it returns all new replies joined by newlines.
func (h *Harness) CommandExpect(mxid id.UserID, command, want string) string {
	h.T.Helper()
	room := h.ManagementRoom(mxid)
	before := len(h.botMessages(room))
	h.SendText(room, mxid, command)
	var joined string
	err := h.Matrix.Wait(h.Ctx, DefaultWait, fmt.Sprintf("a reply to %q containing %q", command, want), func() bool {
		var bodies []string
		for _, e := range h.botMessages(room)[before:] {
			bodies = append(bodies, e.Message().Body)
		}
		joined = strings.Join(bodies, "\n")
		return strings.Contains(joined, want)
	})
	if err != nil {
		h.T.Fatalf("%v; replies so far: %q", err, joined)
	}
	return joined
}

// CommandPrompt is CommandExpect for a reply that asks the user for more
// input: it also waits until the bot is ready for the answer. bridgev2
// stores the prompt's command state only after the reply is sent, and a
// prompt that follows another one (an address, then a password) replaces
// the previous prompt's state, so it waits for a state other than the one
// there when the command was sent: an answer sent while the old state is
// still there would run against it, and the late write would then leave a
// stale prompt behind that refuses the next login.
func (h *Harness) CommandPrompt(mxid id.UserID, command, want string) string {
	h.T.Helper()
	user := h.User(mxid)
	before := commands.LoadCommandState(user)
	reply := h.CommandExpect(mxid, command, want)
	h.WaitFor("the bot to wait for input after "+command, func() bool {
		state := commands.LoadCommandState(user)
		return state != nil && state != before
	})
	return reply
}

// BotReplies returns the bodies of every message the bot sent to the user's
// management room.
func (h *Harness) BotReplies(mxid id.UserID) []string {
	var out []string
	for _, e := range h.botMessages(h.ManagementRoom(mxid)) {
		out = append(out, e.Message().Body)
	}
	return out
}

func (h *Harness) botMessages(room id.RoomID) []*Event {
	var out []*Event
	for _, e := range h.Matrix.Messages(room) {
		if e.Sender == BotMXID && e.Message() != nil {
			out = append(out, e)
		}
	}
	return out
}

// PortalRoom waits for the Matrix room the bridge created for a portal and
// returns it. It looks at the fake homeserver (each creation request carries
// the portal's deterministic room ID) rather than at bridgev2's Portal, whose
// fields are not safe to read while the bridge works.
func (h *Harness) PortalRoom(key networkid.PortalKey) id.RoomID {
	h.T.Helper()
	want := h.Matrix.GenerateDeterministicRoomID(key)
	var room id.RoomID
	h.WaitFor(fmt.Sprintf("the room of portal %s", key), func() bool {
		for _, r := range h.Matrix.Rooms() {
			if r.Request.BeeperLocalRoomID == want {
				room = r.ID
				return true
			}
		}
		return false
	})
	return room
}

// WaitFor fails the test unless cond holds within DefaultWait.
func (h *Harness) WaitFor(what string, cond func() bool) {
	h.T.Helper()
	if err := h.Matrix.Wait(h.Ctx, DefaultWait, what, cond); err != nil {
		h.T.Fatal(err)
	}
}

func openDB(path string, log zerolog.Logger) (*dbutil.Database, error) {
	return dbutil.NewFromConfig("imbridge-test", dbutil.Config{PoolConfig: dbutil.PoolConfig{
		Type: "sqlite3-fk-wal", URI: "file:" + path + "?_txlock=immediate",
		MaxOpenConns: 5, MaxIdleConns: 1,
	}}, dbutil.ZeroLogger(log))
}

// checkAfterStop runs CheckStoredMetadata on the stopped bridge's database
// file (bridgev2 closes its own handle when it stops).
func (h *Harness) checkAfterStop() error {
	db, err := openDB(h.DBPath, zerolog.Nop())
	if err != nil {
		return fmt.Errorf("reopen database: %w", err)
	}
	defer db.Close()
	return checkStoredMetadata(context.Background(), db, h.Connector)
}
