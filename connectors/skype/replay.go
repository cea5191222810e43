package skype

import (
	"context"
	"time"

	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// Idempotent replay (bridgekit.Replay): each bridged event carries its
// message ID (remoteIDKey); an in-flight record is kept while a message is
// on its way; and a message tried before (a retry, or a record left by a
// dead run) is first looked for among the room's latest events.

const (
	remoteIDKey    = "fi.imbridge.skype.message_id"
	inflightPrefix = "skype-inflight:"
	// inflightMaxValid: an older in-flight record is taken as left over.
	inflightMaxValid = 24 * time.Hour
)

func (c *Client) replay() *bridgekit.Replay {
	return &bridgekit.Replay{
		Env: c.conn.Env, Login: c.Login.ID, Log: &c.log,
		IDKey: remoteIDKey, InflightPrefix: inflightPrefix, LogField: "message", MaxAge: inflightMaxValid,
		NewMetadata: func() any { return messageMeta.Wrap(nil) },
	}
}

// markInflight notes that a message is about to be sent to Matrix and
// reports whether an earlier attempt had noted it already.
func (c *Client) markInflight(ctx context.Context, msg networkid.MessageID) (earlier bool) {
	return c.replay().MarkInflight(ctx, string(msg))
}

func (c *Client) clearInflight(ctx context.Context, msg networkid.MessageID) {
	c.replay().ClearInflight(ctx, string(msg))
}

// adoptFromRoom looks for the message among the room's latest events and,
// when it is there, writes its row; it reports whether the message is now
// bridged.
func (c *Client) adoptFromRoom(ctx context.Context, key networkid.PortalKey, sender networkid.UserID, msg networkid.MessageID) bool {
	return c.replay().Adopt(ctx, bridgekit.Message{Portal: key, ID: msg, Native: string(msg), Sender: sender})
}
