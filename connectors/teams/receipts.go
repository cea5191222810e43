package teams

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/simplevent"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Teams pushes a member's read position only to that member, so the bridge
// reads the other members' positions (GET consumptionhorizons) of the chats
// the user has written in lately, and turns each advance into the ghost's
// Matrix read receipt.

// defaultHorizonPoll is read_receipt_poll's default.
const defaultHorizonPoll = 20 * time.Second

// pollHorizons runs until ctx ends.
func (c *Client) pollHorizons(ctx context.Context) {
	c.horizons.Poll(ctx, c.conn.horizonPoll(), c.syncHorizons)
}

func (c *Client) syncHorizons(ctx context.Context, conv string) {
	chat := c.chatClient()
	if chat == nil {
		return
	}
	hs, err := chat.ConsumptionHorizons(ctx, conv)
	if err != nil {
		c.log.Debug().Err(err).Str("conversation", conv).Msg("Could not read the members' read positions")
		return
	}
	for _, h := range hs {
		if isSelf(h.MRI, c.meta.MRI) || h.Horizon.MessageID == "" || !c.horizons.Advanced(conv, h.MRI, h.Horizon.Time) {
			continue
		}
		c.queueReceipt(conv, h.MRI, h.Horizon)
	}
}

// queueReceipt bridges a read position as the reader's read receipt.
func (c *Client) queueReceipt(conv, mri string, h chatsvc.Horizon) {
	meta := simplevent.EventMeta{Type: bridgev2.RemoteEventReadReceipt, PortalKey: c.portalKey(conv), Sender: c.sender(mri),
		Timestamp: h.Time, LogContext: func(z zerolog.Context) zerolog.Context {
			return z.Str("conversation", conv).Str("reader", mri)
		}}
	c.queue(&meta, &simplevent.Receipt{EventMeta: meta, LastTarget: ids.MessageID(ids.Teams, h.MessageID), ReadUpTo: h.Time})
}

// handleOwnHorizon bridges the user reading a chat on another device (their
// double puppet's read receipt).
func (c *Client) handleOwnHorizon(conv *chatsvc.Conversation) {
	h := conv.Horizon()
	if h.MessageID == "" || chatsvc.IsSystemFeed(conv.ID) || !c.horizons.Advanced(conv.ID, c.meta.MRI, h.Time) {
		return
	}
	c.queueReceipt(conv.ID, c.meta.MRI, h)
}

// horizonPoll is the read-position poll interval: the tests' knob, else
// read_receipt_poll.
func (c *Connector) horizonPoll() time.Duration {
	return orDefault(c.HorizonPoll, orDefault(c.Config.ReadReceiptPoll, defaultHorizonPoll))
}
