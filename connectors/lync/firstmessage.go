package lync

import (
	"context"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

// An incoming invitation carries the conversation's first message, and once
// accepted the server sends that message again as a message event. The bridge
// holds the invitation's copy until it knows whether the conversation is a
// 1:1 or a group chat (participants arrive after the invitation), then
// bridges it when messaging connects or the invitation ends unanswered
// (declined elsewhere, timed out). The repeat, the conversation's first
// message event with the same text, is bridged under the copy's message ID
// (firstEventID), so bridgev2's duplicate check keeps exactly one of the two
// whichever comes first; the state lives in the database too, so a restart
// in between cannot lose or double the message.

// firstMessage is a conversation's first message, as its invitation carried it.
type firstMessage struct {
	Body    ucwa.MessageBody `json:"body"`
	SIP     string           `json:"sip"`
	ID      string           `json:"id"`
	Time    time.Time        `json:"time"`
	Bridged bool             `json:"bridged"`
	// FirstEvent is the href of the message event that repeated this
	// message; it is bridged under ID instead of its own href.
	FirstEvent string `json:"first_event,omitempty"`
}

// firstScope names the sync-state row holding a conversation's first message.
func firstScope(convHref string) string { return "lync-first:" + convHref }

func (c *Client) saveFirst(ctx context.Context, convHref string, fm *firstMessage) {
	if err := c.conn.Env.DB.SyncState.Put(ctx, c.Login.ID, firstScope(convHref), fm); err != nil {
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
	if ok, err := c.conn.Env.DB.SyncState.Get(ctx, c.Login.ID, firstScope(lc.href), &stored); err != nil || !ok {
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

// firstEventID returns the message ID under which a message event is
// bridged. The conversation's first message event, when it repeats the
// invitation's held copy, takes the copy's ID: bridgev2 then bridges the
// text once whichever of the two comes first, and a restart in between
// (whatever was or was not saved) cannot double or lose it. Which event was
// the first is kept in the database with the copy.
func (c *Client) firstEventID(ctx context.Context, lc *liveConv, href string, body ucwa.MessageBody) string {
	fm := c.loadFirst(ctx, lc)
	if fm == nil {
		return href
	}
	c.conv.mu.Lock()
	first := fm.FirstEvent
	if first == "" && sameMessage(bodyText(body), bodyText(fm.Body)) {
		fm.FirstEvent, first = href, href
	}
	c.conv.mu.Unlock()
	if first != href {
		return href
	}
	c.saveFirst(ctx, lc.href, fm)
	return fm.ID
}

// dropFirst forgets an ended conversation's first message.
func (c *Client) dropFirst(ctx context.Context, convHref string) {
	if err := c.conn.Env.DB.SyncState.Delete(ctx, c.Login.ID, firstScope(convHref)); err != nil {
		c.log.Err(err).Msg("Failed to forget an ended conversation's first message")
	}
}
