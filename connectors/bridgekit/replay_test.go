package bridgekit

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// envProto is the fake protocol, keeping the environment the bridge hands it.
type envProto struct {
	*fakeproto.Proto
	env *protocol.Env
}

func (p *envProto) Init(env *protocol.Env) { p.env = env; p.Proto.Init(env) }

const (
	idKey   = "fi.imbridge.test.message_id"
	partKey = "fi.imbridge.test.part"
	login   = networkid.UserLoginID("lync.alice")
)

type replayEnv struct {
	h      *bridgetest.Harness
	env    *protocol.Env
	key    networkid.PortalKey
	room   id.RoomID
	sender networkid.UserID
	ghost  id.UserID
	other  networkid.UserID // another ghost in the room
}

func newReplayEnv(t *testing.T) *replayEnv {
	t.Helper()
	p := &envProto{Proto: fakeproto.New(ids.Lync)}
	h := bridgetest.New(t, bridge.New(p), bridgetest.Options{NetworkConfig: "lync: {enabled: true, greeting: hi}\n"})
	e := &replayEnv{
		h: h, env: p.env, room: "!portal:" + bridgetest.ServerName,
		key:    networkid.PortalKey{ID: ids.PortalID(ids.Lync, "chat"), Receiver: login},
		sender: ids.UserID(ids.Lync, "bob"), other: ids.UserID(ids.Lync, "mallory"),
	}
	// The sync-state and message rows belong to a login that exists.
	if _, err := h.User("@alice:"+bridgetest.ServerName).NewLogin(h.Ctx, &database.UserLogin{
		ID: login, RemoteName: "alice", Metadata: protocol.NewKind[fakeproto.LoginMeta](ids.Lync).Wrap(nil),
	}, nil); err != nil {
		t.Fatal(err)
	}
	// As in a real room, the sender's ghost row exists (it sent the events).
	if _, err := h.Bridge.GetGhostByID(h.Ctx, e.sender); err != nil {
		t.Fatal(err)
	}
	e.ghost = h.Matrix.FormatGhostMXID(e.sender)
	h.Matrix.AddRoom(e.room, map[id.UserID]event.Membership{
		e.ghost: event.MembershipJoin, h.Matrix.FormatGhostMXID(e.other): event.MembershipJoin,
	})
	portal, err := h.Bridge.GetPortalByKey(h.Ctx, e.key)
	if err != nil {
		t.Fatal(err)
	}
	e.key = portal.PortalKey // as the bridge keeps it (receiver or not)
	portal.MXID = e.room
	if err := portal.Save(h.Ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// send puts an event with the given extra content keys into the room as who.
func (e *replayEnv) send(t *testing.T, who networkid.UserID, extra map[string]any) id.EventID {
	t.Helper()
	resp, err := e.h.Matrix.GhostIntent(who).SendMessage(e.h.Ctx, e.room, event.EventMessage, &event.Content{
		Parsed: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}, Raw: extra,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp.EventID
}

func (e *replayEnv) replay(partKey string) *Replay {
	log := zerolog.New(zerolog.NewTestWriter(e.h.T)).Level(zerolog.WarnLevel)
	return &Replay{Env: e.env, Login: login, Log: &log, IDKey: idKey, PartKey: partKey, InflightPrefix: "test-inflight:", LogField: "message_id"}
}

func (e *replayEnv) msg(native string) Message {
	return Message{Portal: e.key, ID: ids.MessageID(ids.Lync, native), Native: native, Sender: e.sender}
}

func (e *replayEnv) rows(t *testing.T, native string) map[networkid.PartID]id.EventID {
	t.Helper()
	parts, err := e.h.Bridge.DB.Message.GetAllPartsByID(e.h.Ctx, login, ids.MessageID(ids.Lync, native))
	if err != nil {
		t.Fatal(err)
	}
	out := map[networkid.PartID]id.EventID{}
	for _, p := range parts {
		out[p.PartID] = p.MXID
	}
	return out
}

func TestInflightRecord(t *testing.T) {
	e := newReplayEnv(t)
	r := e.replay(partKey)
	if r.MarkInflight(e.h.Ctx, "m1") {
		t.Fatal("a first attempt found an earlier one")
	}
	if !r.MarkInflight(e.h.Ctx, "m1") {
		t.Fatal("a second attempt did not find the first one's record")
	}
	if r.MarkInflight(e.h.Ctx, "m2") {
		t.Fatal("another message's record counted for m2")
	}
	r.ClearInflight(e.h.Ctx, "m1")
	if r.MarkInflight(e.h.Ctx, "m1") {
		t.Fatal("a cleared record still counted")
	}
	// With an age bound, a record older than it is taken as left over (and
	// replaced by a fresh one); a younger one counts.
	bounded := e.replay(partKey)
	bounded.MaxAge = time.Hour
	if err := e.env.DB.SyncState.Put(e.h.Ctx, login, "test-inflight:m3", inflight{Since: time.Now().Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if bounded.MarkInflight(e.h.Ctx, "m3") {
		t.Fatal("a record older than MaxAge counted")
	}
	if !bounded.MarkInflight(e.h.Ctx, "m3") {
		t.Fatal("the fresh record that replaced the old one did not count")
	}
	if !r.MarkInflight(e.h.Ctx, "m3") {
		t.Fatal("without MaxAge a record did not count")
	}
}

// Every stamped part of the message is adopted with its part ID; an event
// from someone else with the same stamp is not, when the sender is known.
func TestAdoptAllPartsOfTheSender(t *testing.T) {
	e := newReplayEnv(t)
	first := e.send(t, e.sender, map[string]any{idKey: "m1", partKey: ""})
	second := e.send(t, e.sender, map[string]any{idKey: "m1", partKey: "1"})
	e.send(t, e.other, map[string]any{idKey: "m1", partKey: "2"}) // forged
	e.send(t, e.sender, map[string]any{idKey: "m2", partKey: ""})
	r := e.replay(partKey)
	m := e.msg("m1")
	m.SenderMXID = e.ghost
	if !r.Adopt(e.h.Ctx, m) {
		t.Fatal("the message in the room was not adopted")
	}
	got := e.rows(t, "m1")
	if len(got) != 2 || got[""] != first || got["1"] != second {
		t.Fatalf("rows %v, want part \"\" = %s and part 1 = %s", got, first, second)
	}
	// Now bridgev2 has rows: bridged, without reading the room again.
	if !r.Adopt(e.h.Ctx, m) {
		t.Fatal("a message with rows does not count as bridged")
	}
	if r.Adopt(e.h.Ctx, e.msg("m3")) {
		t.Fatal("a message that is not in the room was adopted")
	}
	if len(e.rows(t, "m3")) != 0 {
		t.Fatal("rows were written for a message that is not in the room")
	}
}

// Without a part stamp a message's events cannot be told apart: only the
// newest is adopted (two rows with the same part ID cannot both exist).
func TestAdoptWithoutPartsTakesTheNewest(t *testing.T) {
	e := newReplayEnv(t)
	e.send(t, e.sender, map[string]any{idKey: "m1"})
	newest := e.send(t, e.sender, map[string]any{idKey: "m1"})
	if !e.replay("").Adopt(e.h.Ctx, e.msg("m1")) {
		t.Fatal("the message in the room was not adopted")
	}
	if got := e.rows(t, "m1"); len(got) != 1 || got[""] != newest {
		t.Fatalf("rows %v, want only the newest event %s", got, newest)
	}
}

// Only a string stamp equal to the remote ID counts: an unstamped event is
// not taken for a message with an empty ID, nor a number for its digits.
func TestAdoptNeedsTheExactStamp(t *testing.T) {
	e := newReplayEnv(t)
	e.send(t, e.sender, nil)
	e.send(t, e.sender, map[string]any{idKey: 5})
	r := e.replay(partKey)
	if r.Adopt(e.h.Ctx, e.msg("")) {
		t.Fatal("an unstamped event was adopted for an empty remote ID")
	}
	if r.Adopt(e.h.Ctx, e.msg("5")) {
		t.Fatal("a number stamp was adopted for a string ID")
	}
}
