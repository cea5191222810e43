package lync

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/metrics"
)

// The event cursor may only move past a message once it is in Matrix (its
// row is in bridgev2's message table) or was skipped on purpose with a warn
// log line. A batch therefore collects the messages it queued, waits for
// bridgev2 to handle them, checks the message table, and queues the missing
// ones again with backoff (the homeserver may be down). Only then does
// handleUpdate return and the ucwa event loop save the next cursor; an
// error instead keeps the cursor, so the same batch is fetched again.

// handledWait bounds one wait for bridgev2 to handle a batch's messages
// before the message table is checked (a portal whose creation failed never
// calls back).
const handledWait = 2 * time.Minute

// Retrying messages that did not reach Matrix: the first retry after
// settleBackoffMin (Connector.RetryBackoffMin in tests), doubling up to
// settleBackoffMax; after settleAttempts the message is given up with a
// warning and a notice, so a message bridgev2 refuses for good cannot hold
// the event channel forever.
const (
	settleBackoffMin = time.Second
	settleBackoffMax = time.Minute
	settleAttempts   = 30
)

// batch is what one event-channel response queued.
type batch struct {
	msgs []*inbound
}

// inbound is one queued remote message.
type inbound struct {
	evt      *simplevent.Message[ucwa.MessageBody]
	href     string
	received time.Time

	mu      sync.Mutex
	done    chan struct{} // closed when the current attempt was handled
	ignored bool          // bridgev2 said, synchronously, it ignored the event
}

// attempt prepares a new handling attempt and returns its done channel.
func (in *inbound) attempt() chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.done = make(chan struct{})
	in.ignored = false
	return in.done
}

func finish(done chan struct{}, once *sync.Once) {
	once.Do(func() { close(done) })
}

// queueMessage queues one remote message and tracks it in b. A message
// an earlier attempt may have put in the room already is looked for there
// first (see replay.go).
func (c *Client) queueMessage(ctx context.Context, key networkid.PortalKey, sip, msgHref string, ts time.Time, body ucwa.MessageBody, b *batch) {
	in := &inbound{href: msgHref, received: time.Now()}
	in.evt = &simplevent.Message[ucwa.MessageBody]{
		EventMeta: simplevent.EventMeta{
			Type: bridgev2.RemoteEventMessage, PortalKey: key, CreatePortal: true, Timestamp: ts,
			Sender: bridgev2.EventSender{Sender: ids.UserID(ids.Lync, sip)},
		},
		ID:   ids.MessageID(ids.Lync, msgHref),
		Data: body,
		ConvertMessageFunc: func(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, body ucwa.MessageBody) (*bridgev2.ConvertedMessage, error) {
			return c.convertIncoming(ctx, portal, intent, sip, msgHref, body)
		},
	}
	b.msgs = append(b.msgs, in)
	c.queuedHere.Store(msgHref, struct{}{})
	c.prepareNewRoom(ctx, key, sip)
	if c.markInflight(ctx, in) && c.adoptFromRoom(ctx, in) {
		close(in.attempt())
		return
	}
	c.submit(in)
}

// submit hands one attempt of in to bridgev2.
func (c *Client) submit(in *inbound) {
	done := in.attempt()
	var once sync.Once
	in.evt.PostHandleFunc = func(ctx context.Context, portal *bridgev2.Portal) {
		c.conn.Env.Metrics.MessageBridged("lync", metrics.ToMatrix, time.Since(in.received))
		finish(done, &once)
	}
	res := c.Login.QueueRemoteEvent(in.evt)
	if res.Queued && res.Success && res.Error == nil {
		return // handled later, in the portal's event loop
	}
	// Handled (or refused) synchronously: no callback may come.
	in.mu.Lock()
	in.ignored = res.Ignored
	in.mu.Unlock()
	if res.Error != nil {
		c.log.Warn().Err(res.Error).Str("href", in.href).Msg("Bridging an incoming message failed")
	}
	finish(done, &once)
}

// settle returns once every message of b is in Matrix or deliberately
// skipped; it returns an error only when ctx ends first, which keeps the
// event cursor where it was.
func (c *Client) settle(ctx context.Context, b *batch) error {
	pending := b.msgs
	backoff := orDefault(c.conn.RetryBackoffMin, settleBackoffMin)
	for attempt := 1; len(pending) > 0; attempt++ {
		if err := c.waitHandled(ctx, pending); err != nil {
			return err
		}
		var missing []*inbound
		for _, in := range pending {
			ok, err := c.inMatrix(ctx, in)
			if err != nil {
				c.log.Err(err).Str("href", in.href).Msg("Cannot check whether a message reached Matrix")
			}
			if !ok {
				missing = append(missing, in)
			}
		}
		if len(missing) == 0 {
			c.clearInflight(ctx, b.msgs)
			return nil
		}
		hrefs := hrefsOf(missing)
		if attempt >= settleAttempts {
			c.log.Warn().Strs("hrefs", hrefs).Int("attempts", attempt).Msg("Giving up on incoming messages that never reached Matrix")
			for _, in := range missing {
				c.notice(ctx, fmt.Sprintf("A message from %s could not be delivered to its Matrix room, even after retrying for a long time.", c.displayOf(in)))
			}
			c.clearInflight(ctx, b.msgs)
			return nil
		}
		c.log.Warn().Strs("hrefs", hrefs).Int("attempt", attempt).Dur("retry_in", backoff).
			Msg("Incoming messages have not reached Matrix yet; queueing them again")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, settleBackoffMax)
		pending = pending[:0:0]
		for _, in := range missing {
			// The homeserver may have taken the event and the answer got
			// lost: then it is in the room, and sending it again would
			// double it.
			if c.adoptFromRoom(ctx, in) {
				continue
			}
			c.submit(in)
			pending = append(pending, in)
		}
	}
	return nil
}

// waitHandled waits until bridgev2 handled every attempt in list, or
// handledWait passed.
func (c *Client) waitHandled(ctx context.Context, list []*inbound) error {
	timer := time.NewTimer(handledWait)
	defer timer.Stop()
	for _, in := range list {
		in.mu.Lock()
		done := in.done
		in.mu.Unlock()
		select {
		case <-done:
		case <-timer.C:
			c.log.Warn().Str("href", in.href).Msg("Bridging an incoming message takes long; checking what reached Matrix")
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// inMatrix reports whether the message is in bridgev2's message table,
// which bridgev2 writes right after the homeserver accepted the event. A
// message bridgev2 ignored synchronously (its portal cannot be created, or
// it was deleted meanwhile) counts as handled, with a warning naming it.
func (c *Client) inMatrix(ctx context.Context, in *inbound) (bool, error) {
	parts, err := c.conn.Env.Bridge.DB.Message.GetAllPartsByID(ctx, c.Login.ID, in.evt.ID)
	if err != nil {
		return false, err
	}
	if len(parts) > 0 {
		return true, nil
	}
	in.mu.Lock()
	ignored := in.ignored
	in.mu.Unlock()
	if ignored {
		c.log.Warn().Str("href", in.href).Msg("Bridge ignored an incoming message (its room cannot be created); skipped")
		return true, nil
	}
	return false, nil
}

func (c *Client) displayOf(in *inbound) string {
	sip, err := ids.Parse(ids.Lync, string(in.evt.Sender.Sender))
	if err != nil {
		return "a colleague"
	}
	if name := c.conv.nameOf(sip); name != "" {
		return name + " (" + sip + ")"
	}
	return sip
}

func hrefsOf(list []*inbound) []string {
	out := make([]string, 0, len(list))
	for _, in := range list {
		out = append(out, in.href)
	}
	return out
}

// skipMessage logs a message the bridge leaves out on purpose.
func (c *Client) skipMessage(href, why string) {
	c.log.Warn().Str("href", href).Msg("Incoming message skipped: " + strings.TrimSpace(why))
}

// prepareNewRoom fills in the colleague's ghost (name, photo) before the
// message that creates a DM room is queued: bridgev2 names a new DM room
// after its ghost, so the invite then shows who is writing instead of one
// more nameless invite from the bridge bot.
func (c *Client) prepareNewRoom(ctx context.Context, key networkid.PortalKey, sip string) {
	portal, err := c.conn.Env.Bridge.GetExistingPortalByKey(ctx, key)
	if err != nil || (portal != nil && portal.MXID != "") {
		return
	}
	if target, _, _ := portalTarget(key.ID); target == "" {
		return // a group room is named after its subject
	}
	ghost, err := c.conn.Env.Bridge.GetGhostByID(ctx, ids.UserID(ids.Lync, sip))
	if err != nil {
		c.log.Err(err).Str("sip", sip).Msg("Cannot get a colleague's ghost")
		return
	}
	ghost.UpdateInfo(ctx, c.userInfo(ctx, sip, true))
}
