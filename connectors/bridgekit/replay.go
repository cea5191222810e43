// Package bridgekit holds the bridgev2-side helpers that the protocol
// connectors (lync, skype, teams) share: the protocol.Protocol methods that
// only repeat a connector's Spec (Base), the session goroutine with its
// backoff and BAD_CREDENTIALS path (SessionKeeper), the catch-up point
// (CatchUpPoint), idempotent replay of remote messages (Replay), management
// room notices and the lock on renewed login metadata (MetaLock). Unlike the
// protocol clients it imports bridgev2; what needs chat-service types is in
// connectors/chatbridge.
package bridgekit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/protocol"
)

// Idempotent replay. bridgev2 sends a remote message with a random
// transaction ID and writes its message row only after the homeserver
// answered, so a bridge killed in between (or an answer lost on the way)
// leaves a message that is in the room but not in the table; bridging it
// again would double it. So:
//   - every bridged event carries the message's remote ID (Replay.IDKey) and,
//     where a message has several events, its part (Replay.PartKey),
//   - before a message is queued, an in-flight record is written for it
//     (MarkInflight), and removed once it is settled (ClearInflight),
//   - a message that still has an in-flight record when it is queued again
//     (after a restart, or a retry in this process) is first looked for
//     among the room's latest events (Adopt); if it is there, its message
//     rows are written from what was found and it is not sent again.

const (
	// LookBack is how many of the room's latest events Adopt searches.
	LookBack = 100
	// ReadLimit bounds the time Adopt spends reading the room.
	ReadLimit = 15 * time.Second
)

// Replay is one login's idempotent-replay bookkeeping for one protocol.
type Replay struct {
	Env   *protocol.Env
	Login networkid.UserLoginID
	Log   *zerolog.Logger
	// IDKey and PartKey are the event content keys the connector stamps the
	// remote ID and the part ID into. With no PartKey a message's events
	// cannot be told apart, so only the newest matching event is adopted.
	IDKey, PartKey string
	// InflightPrefix starts the sync-state scope of an in-flight record.
	InflightPrefix string
	// LogField names the remote ID in log lines ("href", "message_id").
	LogField string
	// MaxAge, when set, is how long an in-flight record counts: an older one
	// is taken as left over and replaced without looking in the room.
	MaxAge time.Duration
	// NewMetadata, when set, makes the metadata of an adopted message row.
	NewMetadata func() any
}

type inflight struct {
	Since time.Time `json:"since"`
}

// MarkInflight records that the message with remote ID native is about to be
// sent; it reports whether a record was there already (an earlier attempt may
// have reached the room).
func (r *Replay) MarkInflight(ctx context.Context, native string) (earlier bool) {
	var prev inflight
	ok, err := r.Env.DB.SyncState.Get(ctx, r.Login, r.InflightPrefix+native, &prev)
	if err != nil {
		r.Log.Err(err).Str(r.LogField, native).Msg("Cannot read the in-flight record of a message")
	}
	if ok && (r.MaxAge <= 0 || time.Since(prev.Since) < r.MaxAge) {
		return true
	}
	if err := r.Env.DB.SyncState.Put(ctx, r.Login, r.InflightPrefix+native, inflight{Since: time.Now()}); err != nil {
		r.Log.Err(err).Str(r.LogField, native).Msg("Cannot record an in-flight message")
	}
	return false
}

// ClearInflight drops the in-flight record of a settled message.
func (r *Replay) ClearInflight(ctx context.Context, native string) {
	if err := r.Env.DB.SyncState.Delete(ctx, r.Login, r.InflightPrefix+native); err != nil {
		r.Log.Err(err).Str(r.LogField, native).Msg("Cannot clear an in-flight record")
	}
}

// Message is what Adopt needs to know of a remote message.
type Message struct {
	Portal networkid.PortalKey
	ID     networkid.MessageID
	Native string // the remote ID stamped into its events
	Sender networkid.UserID
	// SenderMXID, when set, is the only Matrix user whose events count.
	SenderMXID id.UserID
}

// Adopt reports whether m is bridged: it is when bridgev2 has rows for it, or
// when its events are among the room's latest ones, in which case their rows
// are written, so the message counts as bridged and is not sent again.
func (r *Replay) Adopt(ctx context.Context, m Message) bool {
	br := r.Env.Bridge
	if parts, err := br.DB.Message.GetAllPartsByID(ctx, r.Login, m.ID); err == nil && len(parts) > 0 {
		return true
	}
	portal, err := br.GetExistingPortalByKey(ctx, m.Portal)
	if err != nil || portal == nil || portal.MXID == "" {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, ReadLimit)
	defer cancel()
	events, err := r.latestRoomEvents(rctx, portal.MXID, LookBack)
	if err != nil {
		r.Log.Warn().Err(err).Str(r.LogField, m.Native).Msg("Cannot read the room to check whether a message is already there")
		return false
	}
	found := 0
	for _, evt := range events {
		if m.SenderMXID != "" && evt.Sender != m.SenderMXID {
			continue
		}
		raw := r.plainContent(rctx, evt)
		if remote, ok := raw[r.IDKey].(string); !ok || remote != m.Native {
			continue
		}
		var part string
		if r.PartKey != "" {
			part, _ = raw[r.PartKey].(string)
		}
		row := &database.Message{
			ID: m.ID, PartID: networkid.PartID(part), MXID: evt.ID, Room: m.Portal,
			SenderID: m.Sender, SenderMXID: evt.Sender, Timestamp: time.UnixMilli(evt.Timestamp),
		}
		if r.NewMetadata != nil {
			row.Metadata = r.NewMetadata()
		}
		if err := br.DB.Message.Insert(ctx, row); err != nil {
			r.Log.Err(err).Str(r.LogField, m.Native).Msg("Cannot record a message found in the room")
			return false
		}
		found++
		if r.PartKey == "" {
			break
		}
	}
	if found > 0 {
		r.Log.Info().Str(r.LogField, m.Native).Int("parts", found).Msg("Message was already in the room; not sending it again")
	}
	return found > 0
}

// roomHistory is a Matrix connector that lists a room's latest events itself
// (the test homeserver).
type roomHistory interface {
	LatestRoomEvents(ctx context.Context, roomID id.RoomID, limit int) ([]*event.Event, error)
}

func (r *Replay) latestRoomEvents(ctx context.Context, roomID id.RoomID, limit int) ([]*event.Event, error) {
	switch mc := r.Env.Bridge.Matrix.(type) {
	case roomHistory:
		return mc.LatestRoomEvents(ctx, roomID, limit)
	case *matrix.Connector:
		resp, err := mc.Bot.Messages(ctx, roomID, "", "", mautrix.DirectionBackward, nil, limit)
		if err != nil {
			return nil, err
		}
		return resp.Chunk, nil
	}
	return nil, nil
}

// plainContent is an event's content as a map, decrypted when needed (the
// bridge can read its own ghosts' encrypted events).
func (r *Replay) plainContent(ctx context.Context, evt *event.Event) map[string]any {
	if evt.Type == event.EventEncrypted {
		mc, ok := r.Env.Bridge.Matrix.(*matrix.Connector)
		if !ok || mc.Crypto == nil {
			return nil
		}
		if err := evt.Content.ParseRaw(evt.Type); err != nil {
			return nil
		}
		dec, err := mc.Crypto.Decrypt(ctx, evt)
		if err != nil {
			r.Log.Debug().Err(err).Stringer("event_id", evt.ID).Msg("Cannot decrypt an event while checking for a replayed message")
			return nil
		}
		evt = dec
	}
	var raw map[string]any
	if len(evt.Content.VeryRaw) > 0 {
		_ = json.Unmarshal(evt.Content.VeryRaw, &raw)
	} else {
		raw = evt.Content.Raw
	}
	return raw
}
