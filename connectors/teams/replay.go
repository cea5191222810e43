package teams

import (
	"context"
	"encoding/json"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Idempotent replay. bridgev2 writes a remote message's row only after the
// homeserver answered, so a bridge killed in between (or an answer lost on
// the way) leaves a message in the room but not in the table, and fetching
// it again would double it. So every bridged event carries its Teams id and
// part (stampKey, stampPartKey); an in-flight row is written before a new
// message is queued and dropped once it is bridged; a message that still has
// an in-flight row when it comes again (a retry, a restart) is first looked
// for among the room's latest events, and if it is there its rows are
// written from what was found instead of sending it again.

const (
	stampKey        = "fi.imbridge.teams.message_id"
	stampPartKey    = "fi.imbridge.teams.part"
	inflightPrefix  = "teams-inflight:"
	replayLookBack  = 100
	replayReadLimit = 15 * time.Second
)

type inflight struct {
	Since time.Time `json:"since"`
}

// markInflight records that a message is about to be sent and reports
// whether an earlier attempt had recorded it already.
func (c *Client) markInflight(ctx context.Context, native string) (earlier bool) {
	var prev inflight
	ok, err := c.conn.env.DB.SyncState.Get(ctx, c.Login.ID, inflightPrefix+native, &prev)
	if err != nil {
		c.log.Err(err).Str("message_id", native).Msg("Cannot read the in-flight record of a message")
	}
	if ok {
		return true
	}
	if err := c.conn.env.DB.SyncState.Put(ctx, c.Login.ID, inflightPrefix+native, inflight{Since: time.Now()}); err != nil {
		c.log.Err(err).Str("message_id", native).Msg("Cannot record an in-flight message")
	}
	return false
}

func (c *Client) clearInflight(ctx context.Context, native string) {
	if err := c.conn.env.DB.SyncState.Delete(ctx, c.Login.ID, inflightPrefix+native); err != nil {
		c.log.Err(err).Str("message_id", native).Msg("Cannot clear an in-flight record")
	}
}

// adoptFromRoom looks for the message's events among the room's latest ones
// and, when they are there, writes bridgev2's rows for them.
func (c *Client) adoptFromRoom(ctx context.Context, key networkid.PortalKey, msgID networkid.MessageID, native string, sender networkid.UserID) bool {
	portal, err := c.conn.env.Bridge.GetExistingPortalByKey(ctx, key)
	if err != nil || portal == nil || portal.MXID == "" {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, replayReadLimit)
	defer cancel()
	events, err := c.latestRoomEvents(rctx, portal.MXID, replayLookBack)
	if err != nil {
		c.log.Warn().Err(err).Str("message_id", native).Msg("Cannot read the room to check whether a message is already there")
		return false
	}
	found := 0
	for _, evt := range events {
		raw := c.plainContent(rctx, evt)
		if id, _ := raw[stampKey].(string); id != native {
			continue
		}
		part, _ := raw[stampPartKey].(string)
		row := &database.Message{
			ID: msgID, PartID: networkid.PartID(part), MXID: evt.ID, Room: key,
			SenderID: sender, SenderMXID: evt.Sender, Timestamp: time.UnixMilli(evt.Timestamp),
			Metadata: messageMeta.Wrap(&MessageMetadata{}),
		}
		if err := c.conn.env.Bridge.DB.Message.Insert(ctx, row); err != nil {
			c.log.Err(err).Str("message_id", native).Msg("Cannot record a message found in the room")
			return false
		}
		found++
	}
	if found > 0 {
		c.log.Info().Str("message_id", native).Int("parts", found).Msg("Message was already in the room; not sending it again")
	}
	return found > 0
}

// roomHistory is a Matrix connector that lists a room's latest events (the
// test homeserver).
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

// plainContent is an event's content as a map, decrypted when needed.
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
