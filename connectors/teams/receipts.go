package teams

import (
	"context"
	"sync"
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

const (
	// defaultHorizonPoll is read_receipt_poll's default.
	defaultHorizonPoll = 20 * time.Second
	// horizonWatch is how long after the user's last message a chat's
	// read positions are watched.
	horizonWatch = 15 * time.Minute
)

type horizonWatcher struct {
	mu      sync.Mutex
	watched map[string]time.Time            // conversation → until
	seen    map[string]map[string]time.Time // conversation → MRI → read time bridged
}

func (w *horizonWatcher) watch(conv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched == nil {
		w.watched = map[string]time.Time{}
	}
	w.watched[conv] = time.Now().Add(horizonWatch)
}

func (w *horizonWatcher) due() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	now := time.Now()
	for conv, until := range w.watched {
		if now.After(until) {
			delete(w.watched, conv)
			continue
		}
		out = append(out, conv)
	}
	return out
}

// advanced reports whether mri's read time in conv moved past what was
// bridged, remembering it.
func (w *horizonWatcher) advanced(conv, mri string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]map[string]time.Time{}
	}
	m := w.seen[conv]
	if m == nil {
		m = map[string]time.Time{}
		w.seen[conv] = m
	}
	if !t.After(m[mri]) {
		return false
	}
	m[mri] = t
	return true
}

// pollHorizons runs until ctx ends.
func (c *Client) pollHorizons(ctx context.Context) {
	tick := time.NewTicker(c.conn.horizonPoll())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, conv := range c.horizons.due() {
			c.syncHorizons(ctx, conv)
		}
	}
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
		if isSelf(h.MRI, c.meta.MRI) || h.Horizon.MessageID == "" || !c.horizons.advanced(conv, h.MRI, h.Horizon.Time) {
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
	if h.MessageID == "" || chatsvc.IsSystemFeed(conv.ID) || !c.horizons.advanced(conv.ID, c.meta.MRI, h.Time) {
		return
	}
	c.queueReceipt(conv.ID, c.meta.MRI, h)
}

// horizonPoll is the read-position poll interval: the tests' knob, else
// read_receipt_poll.
func (c *Connector) horizonPoll() time.Duration {
	return orDefault(c.HorizonPoll, orDefault(c.Config.ReadReceiptPoll, defaultHorizonPoll))
}
