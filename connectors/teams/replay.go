package teams

import (
	"context"

	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// Idempotent replay (bridgekit.Replay): every bridged event carries its
// Teams id and part (stampKey, stampPartKey); an in-flight record is written
// before a new message is queued and dropped once it is bridged; a message
// that still has one when it comes again is first looked for in the room.

const (
	stampKey       = "fi.imbridge.teams.message_id"
	stampPartKey   = "fi.imbridge.teams.part"
	inflightPrefix = "teams-inflight:"
)

func (c *Client) replay() *bridgekit.Replay {
	return &bridgekit.Replay{
		Env: c.conn.Env, Login: c.Login.ID, Log: &c.log,
		IDKey: stampKey, PartKey: stampPartKey, InflightPrefix: inflightPrefix, LogField: "message_id",
		NewMetadata: func() any { return messageMeta.Wrap(&MessageMetadata{}) },
	}
}

// markInflight records that a message is about to be sent and reports
// whether an earlier attempt had recorded it already.
func (c *Client) markInflight(ctx context.Context, native string) (earlier bool) {
	return c.replay().MarkInflight(ctx, native)
}

func (c *Client) clearInflight(ctx context.Context, native string) {
	c.replay().ClearInflight(ctx, native)
}

// adoptFromRoom looks for the message's events among the room's latest ones
// and, when they are there, writes bridgev2's rows for them.
func (c *Client) adoptFromRoom(ctx context.Context, key networkid.PortalKey, msgID networkid.MessageID, native string, sender networkid.UserID) bool {
	return c.replay().Adopt(ctx, bridgekit.Message{Portal: key, ID: msgID, Native: native, Sender: sender})
}
