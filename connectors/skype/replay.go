package skype

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

// bridgev2 writes a remote message's row only after the homeserver
// answered, so a send whose answer was lost (or a bridge killed in
// between) leaves the message in the room without a row, and sending it
// again would double it. So each bridged event carries its message ID
// (remoteIDKey); an in-flight record is kept while a message is on its
// way; and a message tried before (a retry, or a record left by a dead
// run) is first looked for among the room's latest events. If it is
// there, its row is written from what was found instead of sending again.

const (
	remoteIDKey      = "fi.imbridge.skype.message_id"
	inflightPrefix   = "skype-inflight:"
	replayLookBack   = 100
	replayReadLimit  = 15 * time.Second
	inflightMaxValid = 24 * time.Hour
)

type inflightRecord struct {
	Since time.Time `json:"since"`
}

// markInflight notes that a message is about to be sent to Matrix and
// reports whether an earlier attempt had noted it already.
func (c *Client) markInflight(ctx context.Context, msg networkid.MessageID) (earlier bool) {
	var prev inflightRecord
	ok, err := c.conn.env.DB.SyncState.Get(ctx, c.Login.ID, inflightPrefix+string(msg), &prev)
	if err != nil {
		c.log.Err(err).Str("message", string(msg)).Msg("Cannot read a message's in-flight record")
	}
	if ok && time.Since(prev.Since) < inflightMaxValid {
		return true
	}
	if err := c.conn.env.DB.SyncState.Put(ctx, c.Login.ID, inflightPrefix+string(msg), inflightRecord{Since: time.Now()}); err != nil {
		c.log.Err(err).Str("message", string(msg)).Msg("Cannot record an in-flight message")
	}
	return false
}

func (c *Client) clearInflight(ctx context.Context, msg networkid.MessageID) {
	if err := c.conn.env.DB.SyncState.Delete(ctx, c.Login.ID, inflightPrefix+string(msg)); err != nil {
		c.log.Err(err).Str("message", string(msg)).Msg("Cannot clear an in-flight record")
	}
}

// adoptFromRoom looks for the message among the room's latest events and,
// when it is there, writes its row; it reports whether the message is now
// bridged.
func (c *Client) adoptFromRoom(ctx context.Context, key networkid.PortalKey, sender networkid.UserID, msg networkid.MessageID) bool {
	if part, err := c.existing(ctx, msg); err == nil && part != nil {
		return true
	}
	portal, err := c.conn.env.Bridge.GetExistingPortalByKey(ctx, key)
	if err != nil || portal == nil || portal.MXID == "" {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, replayReadLimit)
	defer cancel()
	events, err := c.latestRoomEvents(rctx, portal.MXID, replayLookBack)
	if err != nil {
		c.log.Warn().Err(err).Str("message", string(msg)).Msg("Cannot read the room to check whether a message is already there")
		return false
	}
	for _, evt := range events {
		if c.contentMap(rctx, evt)[remoteIDKey] != string(msg) {
			continue
		}
		row := &database.Message{
			ID: msg, MXID: evt.ID, Room: key, SenderID: sender, SenderMXID: evt.Sender,
			Timestamp: time.UnixMilli(evt.Timestamp), Metadata: messageMeta.Wrap(nil),
		}
		if err := c.conn.env.Bridge.DB.Message.Insert(ctx, row); err != nil {
			c.log.Err(err).Str("message", string(msg)).Msg("Cannot record a message found in the room")
			return false
		}
		c.log.Info().Str("message", string(msg)).Msg("Message was already in the room; not sending it again")
		return true
	}
	return false
}

// roomHistory is a Matrix connector that lists a room's latest events
// itself (the test homeserver).
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

// contentMap is an event's content as a map, decrypted when it is one of
// the bridge's own encrypted events.
func (c *Client) contentMap(ctx context.Context, evt *event.Event) map[string]any {
	if evt.Type == event.EventEncrypted {
		mc, ok := c.conn.env.Bridge.Matrix.(*matrix.Connector)
		if !ok || mc.Crypto == nil || evt.Content.ParseRaw(evt.Type) != nil {
			return nil
		}
		dec, err := mc.Crypto.Decrypt(ctx, evt)
		if err != nil {
			return nil
		}
		evt = dec
	}
	if len(evt.Content.VeryRaw) > 0 {
		var raw map[string]any
		_ = json.Unmarshal(evt.Content.VeryRaw, &raw)
		return raw
	}
	return evt.Content.Raw
}
