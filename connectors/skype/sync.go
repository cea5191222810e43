package skype

import (
	"context"
	"fmt"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/simplevent"

	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// cursorStream names the arrival cursor in imbridge's cursor table: the
// arrival time of the newest message known to be in Matrix. After a restart
// or a lost endpoint the bridge catches up from it (skypeapi.CatchUp);
// bridgev2 drops what is already bridged by message ID.
const cursorStream = "skype.arrival"

// initialChats bounds the first sync: the most recent conversations get
// portals (and a forward backfill, when backfill is on).
const initialChats = 50

// startSync runs before the long poll: the first sync on a new login, a
// catch-up from the stored cursor otherwise.
func (c *Client) startSync(ctx context.Context) error {
	c.watchReadMarkers(ctx)
	c.evMu.Lock()
	defer c.evMu.Unlock()
	t, err := c.catchUpPoint().Load(ctx, 24*time.Hour)
	if err != nil {
		return fmt.Errorf("load the Skype cursor: %w", err)
	}
	if t.IsZero() {
		return c.initialSync(ctx)
	}
	c.cursor = t
	return c.catchUpLocked(ctx, t)
}

// initialSync creates portals for the recent conversations; each portal's
// history comes through FetchMessages (bridgev2's forward backfill).
func (c *Client) initialSync(ctx context.Context) error {
	convs, err := c.api.AllConversations(ctx, time.Time{}, 0)
	if err != nil {
		return fmt.Errorf("list Skype conversations: %w", err)
	}
	newest := time.Now()
	count := 0
	for i := range convs {
		conv := &convs[i]
		if conv.IsSystemFeed() || conv.LastMessage == nil {
			continue
		}
		if count >= initialChats {
			break
		}
		count++
		evt := &simplevent.ChatResync{
			EventMeta:       simplevent.EventMeta{Type: bridgev2.RemoteEventChatResync, PortalKey: c.portalKey(conv.ID), CreatePortal: true},
			GetChatInfoFunc: c.GetChatInfo,
			LatestMessageTS: conv.LastMessage.Time(),
		}
		if err := c.queue(ctx, &evt.EventMeta, evt, ""); err != nil {
			c.log.Warn().Err(err).Str("conversation", conv.ID).Msg("Cannot create the portal of a Skype conversation")
		}
	}
	// From now on the event stream carries everything new.
	c.advance(ctx, newest.Add(-gapSlack))
	return nil
}

// gapSlack widens a catch-up backwards: clocks differ, and a message read
// twice is dropped by ID while one skipped is lost.
const gapSlack = time.Minute

// HandleGap is skypeapi.Handler: events since `since` may be missing.
func (c *Client) HandleGap(ctx context.Context, since time.Time) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	from := since
	if !c.cursor.IsZero() && c.cursor.Before(from) {
		from = c.cursor
	}
	if err := c.catchUpLocked(ctx, from); err != nil && ctx.Err() == nil {
		c.log.Warn().Err(err).Msg("Skype catch-up after a gap failed; the cursor stays so the next start retries")
	}
}

// catchUpLocked bridges every message after since from history, oldest
// first, stopping at the first that cannot be bridged (the cursor stays
// before it). The caller holds evMu.
func (c *Client) catchUpLocked(ctx context.Context, since time.Time) error {
	backlog, err := c.api.CatchUp(ctx, since.Add(-gapSlack))
	if err != nil {
		return err
	}
	n := 0
	for _, b := range backlog {
		for i := range b.Messages {
			m := &b.Messages[i]
			if m.Kind() == chatsvc.KindTyping || m.Kind() == chatsvc.KindClearTyping {
				continue
			}
			if err := c.handleMessage(ctx, m, false); err != nil {
				return fmt.Errorf("catch up %s: %w", b.Conversation.ID, err)
			}
			n++
		}
	}
	c.log.Info().Int("messages", n).Time("since", since).Msg("Skype catch-up done")
	return nil
}

// catchUpPoint is the arrival cursor in imbridge's cursor table.
func (c *Client) catchUpPoint() bridgekit.CatchUpPoint {
	return bridgekit.CatchUpPoint{Cursors: c.conn.Env.DB.Cursor, Login: c.Login.ID, Stream: cursorStream, Log: &c.log}
}

// advance moves the arrival cursor forward and stores it.
func (c *Client) advance(ctx context.Context, t time.Time) {
	c.catchUpPoint().Advance(ctx, &c.cursor, t)
}
