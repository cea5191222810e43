package lync

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Idempotent replay. bridgev2 sends a remote message with a random
// transaction ID and writes its message row only after the homeserver
// answered, so a bridge killed in between (or an answer lost on the way)
// leaves a message that is in the room but not in the table; bridging it
// again would double it. So:
//   - every bridged event carries its Lync href (remoteIDKey) and part,
//   - before a message is queued, an in-flight row is written for it, and
//     removed once the batch is settled,
//   - a message that still has an in-flight row when it is queued again
//     (after a restart, or a retry in this process) is first looked for
//     among the room's latest events; if it is there, its message row is
//     written from what was found and it is not sent again.

const (
	remotePartKey   = "fi.imbridge.lync.part"
	inflightPrefix  = "lync-inflight:"
	replayLookBack  = 100 // how many of the room's latest events are searched
	replayReadLimit = 15 * time.Second
)

// inflight is the row kept while a message is on its way to Matrix.
type inflight struct {
	Since time.Time `json:"since"`
}

func inflightScope(href string) string { return inflightPrefix + href }

// markInflight records that in is about to be sent; it reports whether a
// row was there already (an earlier attempt may have reached the room).
func (c *Client) markInflight(ctx context.Context, in *inbound) (earlier bool) {
	var prev inflight
	ok, err := c.conn.env.DB.SyncState.Get(ctx, c.Login.ID, inflightScope(in.href), &prev)
	if err != nil {
		c.log.Err(err).Str("href", in.href).Msg("Cannot read the in-flight record of a message")
	}
	if ok {
		return true
	}
	if err := c.conn.env.DB.SyncState.Put(ctx, c.Login.ID, inflightScope(in.href), inflight{Since: time.Now()}); err != nil {
		c.log.Err(err).Str("href", in.href).Msg("Cannot record an in-flight message")
	}
	return false
}

// clearInflight drops the in-flight rows of a settled batch.
func (c *Client) clearInflight(ctx context.Context, list []*inbound) {
	for _, in := range list {
		c.queuedHere.Delete(in.href)
		if err := c.conn.env.DB.SyncState.Delete(ctx, c.Login.ID, inflightScope(in.href)); err != nil {
			c.log.Err(err).Str("href", in.href).Msg("Cannot clear an in-flight record")
		}
	}
}

// adoptFromRoom looks for in's events among the room's latest events and,
// when they are there, writes bridgev2's message rows for them, so the
// message counts as bridged and is not sent a second time.
func (c *Client) adoptFromRoom(ctx context.Context, in *inbound) bool {
	if parts, err := c.conn.env.Bridge.DB.Message.GetAllPartsByID(ctx, c.Login.ID, in.evt.ID); err == nil && len(parts) > 0 {
		return true
	}
	portal, err := c.conn.env.Bridge.GetExistingPortalByKey(ctx, in.evt.PortalKey)
	if err != nil || portal == nil || portal.MXID == "" {
		return false
	}
	ghost := c.conn.env.Bridge.Matrix.FormatGhostMXID(in.evt.Sender.Sender)
	rctx, cancel := context.WithTimeout(ctx, replayReadLimit)
	defer cancel()
	events, err := c.latestRoomEvents(rctx, portal.MXID, replayLookBack)
	if err != nil {
		c.log.Warn().Err(err).Str("href", in.href).Msg("Cannot read the room to check whether a message is already there")
		return false
	}
	found := 0
	for _, evt := range events {
		if evt.Sender != ghost {
			continue
		}
		raw := c.plainContent(rctx, evt)
		if raw[remoteIDKey] != in.href {
			continue
		}
		part, _ := raw[remotePartKey].(string)
		msg := &database.Message{
			ID: in.evt.ID, PartID: networkid.PartID(part), MXID: evt.ID, Room: in.evt.PortalKey,
			SenderID: in.evt.Sender.Sender, SenderMXID: ghost, Timestamp: time.UnixMilli(evt.Timestamp),
		}
		if err := c.conn.env.Bridge.DB.Message.Insert(ctx, msg); err != nil {
			c.log.Err(err).Str("href", in.href).Msg("Cannot record a message found in the room")
			return false
		}
		found++
	}
	if found > 0 {
		c.log.Info().Str("href", in.href).Int("parts", found).Msg("Message was already in the room; not sending it again")
	}
	return found > 0
}

// roomHistory is a Matrix connector that can list a room's latest events
// (the test homeserver).
type roomHistory interface {
	LatestRoomEvents(ctx context.Context, roomID id.RoomID, limit int) ([]*event.Event, error)
}

func (c *Client) latestRoomEvents(ctx context.Context, roomID id.RoomID, limit int) ([]*event.Event, error) {
	switch mc := c.conn.env.Bridge.Matrix.(type) {
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
func (c *Client) plainContent(ctx context.Context, evt *event.Event) map[string]any {
	if evt.Type == event.EventEncrypted {
		mc, ok := c.conn.env.Bridge.Matrix.(*matrix.Connector)
		if !ok || mc.Crypto == nil {
			return nil
		}
		if err := evt.Content.ParseRaw(evt.Type); err != nil {
			return nil
		}
		dec, err := mc.Crypto.Decrypt(ctx, evt)
		if err != nil {
			c.log.Debug().Err(err).Stringer("event_id", evt.ID).Msg("Cannot decrypt an event while checking for a replayed message")
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

func partStamp(i int) string {
	if i == 0 {
		return ""
	}
	return strconv.Itoa(i)
}
