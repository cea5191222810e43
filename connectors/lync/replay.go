package lync

import (
	"context"
	"strconv"

	"github.com/imbridge/imbridge/connectors/bridgekit"
)

// Idempotent replay (bridgekit.Replay): every bridged event carries its Lync
// href (remoteIDKey) and part; an in-flight record is written before a
// message is queued and removed once its batch is settled; a message that
// still has one when it is queued again is first looked for in the room,
// among the events of the sender's ghost.

const (
	remotePartKey  = "fi.imbridge.lync.part"
	inflightPrefix = "lync-inflight:"
)

func (c *Client) replay() *bridgekit.Replay {
	return &bridgekit.Replay{
		Env: c.conn.Env, Login: c.Login.ID, Log: &c.log,
		IDKey: remoteIDKey, PartKey: remotePartKey, InflightPrefix: inflightPrefix, LogField: "href",
	}
}

// markInflight records that in is about to be sent; it reports whether a
// record was there already (an earlier attempt may have reached the room).
func (c *Client) markInflight(ctx context.Context, in *inbound) (earlier bool) {
	return c.replay().MarkInflight(ctx, in.href)
}

// clearInflight drops the in-flight records of a settled batch.
func (c *Client) clearInflight(ctx context.Context, list []*inbound) {
	r := c.replay()
	for _, in := range list {
		c.queuedHere.Delete(in.href)
		r.ClearInflight(ctx, in.href)
	}
}

// adoptFromRoom looks for in's events among the room's latest events and,
// when they are there, writes bridgev2's message rows for them, so the
// message counts as bridged and is not sent a second time.
func (c *Client) adoptFromRoom(ctx context.Context, in *inbound) bool {
	return c.replay().Adopt(ctx, bridgekit.Message{
		Portal: in.evt.PortalKey, ID: in.evt.ID, Native: in.href, Sender: in.evt.Sender.Sender,
		SenderMXID: c.conn.Env.Bridge.Matrix.FormatGhostMXID(in.evt.Sender.Sender),
	})
}

func partStamp(i int) string {
	if i == 0 {
		return ""
	}
	return strconv.Itoa(i)
}
