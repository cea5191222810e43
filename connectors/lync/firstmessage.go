package lync

import (
	"context"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// An incoming invitation carries the conversation's first message, and once
// accepted the server sends that message again as a message event. The bridge
// holds the invitation's copy until it knows whether the conversation is a
// 1:1 or a group chat (participants arrive after the invitation), then:
//   - bridges the message event itself if it comes first (and forgets the copy),
//   - or bridges the copy when messaging connects or the invitation ends
//     unanswered (declined elsewhere, timed out), and then skips the repeat.
// The state lives in the database too, so a restart in between cannot lose or
// double the message.

// firstMessage is a conversation's first message, as its invitation carried it.
type firstMessage struct {
	Body    ucwa.MessageBody `json:"body"`
	SIP     string           `json:"sip"`
	ID      string           `json:"id"`
	Time    time.Time        `json:"time"`
	Bridged bool             `json:"bridged"`
}

// firstScope names the sync-state row holding a conversation's first message.
func firstScope(convHref string) string { return "lync-first:" + convHref }

func (c *Client) saveFirst(ctx context.Context, convHref string, fm *firstMessage) {
	if err := c.conn.env.DB.SyncState.Put(ctx, c.Login.ID, firstScope(convHref), fm); err != nil {
		c.log.Err(err).Msg("Failed to save an invitation's first message")
	}
}

// loadFirst returns the conversation's held first message, from memory or,
// after a restart, from the database.
func (c *Client) loadFirst(ctx context.Context, lc *liveConv) *firstMessage {
	c.conv.mu.Lock()
	fm := lc.first
	c.conv.mu.Unlock()
	if fm != nil {
		return fm
	}
	var stored firstMessage
	if ok, err := c.conn.env.DB.SyncState.Get(ctx, c.Login.ID, firstScope(lc.href), &stored); err != nil || !ok {
		return nil
	}
	c.conv.mu.Lock()
	if lc.first == nil {
		lc.first = &stored
	}
	fm = lc.first
	c.conv.mu.Unlock()
	return fm
}

// flushFirst bridges the held first message if nothing has bridged it yet.
func (c *Client) flushFirst(ctx context.Context, lc *liveConv, b *batch) {
	fm := c.loadFirst(ctx, lc)
	c.conv.mu.Lock()
	if fm == nil || fm.Bridged || lc.portal.ID == "" {
		c.conv.mu.Unlock()
		return
	}
	fm.Bridged = true
	key := lc.portal
	c.conv.mu.Unlock()
	c.saveFirst(ctx, lc.href, fm)
	c.queueMessage(ctx, key, fm.SIP, fm.ID, fm.Time, fm.Body, b)
}

// takeFirstEvent decides what to do with a conversation's first message
// event: bridge it (true) or skip it as the repeat of a bridged copy (false).
func (c *Client) takeFirstEvent(ctx context.Context, lc *liveConv, body ucwa.MessageBody) bool {
	c.conv.mu.Lock()
	seen := lc.firstSeen
	lc.firstSeen = true
	c.conv.mu.Unlock()
	if seen {
		return true
	}
	fm := c.loadFirst(ctx, lc)
	if fm == nil {
		return true
	}
	c.conv.mu.Lock()
	bridged := fm.Bridged
	fm.Bridged = true
	c.conv.mu.Unlock()
	c.saveFirst(ctx, lc.href, fm)
	return !(bridged && sameMessage(bodyText(body), bodyText(fm.Body)))
}

// dropFirst forgets an ended conversation's first message.
func (c *Client) dropFirst(ctx context.Context, convHref string) {
	if err := c.conn.env.DB.SyncState.Delete(ctx, c.Login.ID, firstScope(convHref)); err != nil {
		c.log.Err(err).Msg("Failed to forget an ended conversation's first message")
	}
}
