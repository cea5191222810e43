package lync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/metrics"
)

// Matrix messages use bridgev2's pending-message mechanism, as the mautrix
// bridges do: HandleMatrixMessage returns at once with the message pending,
// so the portal goes on handling incoming messages, and a per-portal queue
// delivers the messages in the order they were typed. The delivery report
// (the Outgoing message event, or the invitation completing) settles the
// pending message: success through a remote echo carrying the transaction
// ID, failure through an error status. The transaction ID doubles as the
// UCWA operation ID, so retries of one send are recognisable as one.

// sendRetryMin is the first wait before a send the server refused with 429
// or 5xx is tried again (Connector.RetryBackoffMin in tests).
const sendRetryMin = 500 * time.Millisecond

// outgoing is one Matrix message waiting for delivery.
type outgoing struct {
	portal     *bridgev2.Portal
	evt        *event.Event
	msg        *bridgev2.MatrixMessage // nil for edits, which are not pending
	txnID      networkid.TransactionID
	text, html string
	queued     time.Time
	// done, when set, settles the delivery instead of the pending message.
	done func(remoteID string, err error)
}

// sendQueues runs one delivery worker per portal while it has messages.
type sendQueues struct {
	mu      sync.Mutex
	pending map[networkid.PortalID][]*outgoing
	running map[networkid.PortalID]bool
}

func (q *sendQueues) push(portal networkid.PortalID, o *outgoing) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == nil {
		q.pending = map[networkid.PortalID][]*outgoing{}
		q.running = map[networkid.PortalID]bool{}
	}
	q.pending[portal] = append(q.pending[portal], o)
	if q.running[portal] {
		return false
	}
	q.running[portal] = true
	return true
}

// pop returns the portal's next message, or nil (and stops the worker).
func (q *sendQueues) pop(portal networkid.PortalID) *outgoing {
	q.mu.Lock()
	defer q.mu.Unlock()
	list := q.pending[portal]
	if len(list) == 0 {
		delete(q.pending, portal)
		delete(q.running, portal)
		return nil
	}
	q.pending[portal] = list[1:]
	return list[0]
}

// enqueue accepts a Matrix message for delivery and returns the pending
// response bridgev2 expects.
func (c *Client) enqueue(ctx context.Context, msg *bridgev2.MatrixMessage, text, html string) *bridgev2.MatrixMessageResponse {
	o := &outgoing{portal: msg.Portal, evt: msg.Event, msg: msg, txnID: networkid.TransactionID(newGUID()), text: text, html: html, queued: time.Now()}
	dbMsg := &database.Message{SenderID: ids.UserID(ids.Lync, c.meta.SIP), Timestamp: time.Now()}
	msg.AddPendingToSave(dbMsg, o.txnID, nil)
	c.recordOutgoing(ctx, o, true)
	c.push(o)
	return &bridgev2.MatrixMessageResponse{DB: dbMsg, Pending: true}
}

func (c *Client) push(o *outgoing) {
	if c.sends.push(o.portal.ID, o) {
		go c.sendWorker(o.portal.ID)
	}
}

func (c *Client) sendWorker(portal networkid.PortalID) {
	for o := c.sends.pop(portal); o != nil; o = c.sends.pop(portal) {
		c.deliverPending(o)
	}
}

// deliverPending sends one message within the delivery timeout, waiting for
// a reconnecting session first, and settles its pending state.
func (c *Client) deliverPending(o *outgoing) {
	ctx, cancel := context.WithTimeout(c.log.WithContext(context.Background()), c.conn.deliveryTimeout())
	defer cancel()
	if o.done == nil {
		defer c.recordOutgoing(c.log.WithContext(context.Background()), o, false)
	}
	log := c.log.With().Stringer("event_id", o.evt.ID).Str("txn_id", string(o.txnID)).Logger()
	if err := c.waitConnected(ctx); err != nil {
		err = bridgev2.WrapErrorInStatus(fmt.Errorf("not connected: %w", err)).
			WithErrorReason(event.MessageStatusNetworkError).WithIsCertain(true).WithSendNotice(true).
			WithMessage("Not sent: the bridge could not reconnect to Skype for Business in time.")
		if o.done != nil {
			o.done("", err)
		} else {
			c.failPending(o, err)
		}
		return
	}
	remoteID, err := c.deliver(ctx, o.portal, o.text, o.html, string(o.txnID))
	if o.done != nil {
		o.done(remoteID, err)
		return
	}
	if err != nil {
		log.Warn().Err(err).Msg("Matrix message not delivered to Skype for Business")
		c.failPending(o, err)
		return
	}
	c.conn.Env.Metrics.MessageBridged("lync", metrics.ToRemote, time.Since(o.queued))
	// The echo settles the pending message: bridgev2 saves it under the
	// Lync ID and reports success. If bridgev2 gave up on it meanwhile, the
	// echo is dropped rather than bridged back.
	c.Login.QueueRemoteEvent(&simplevent.Message[struct{}]{
		EventMeta: simplevent.EventMeta{
			Type: bridgev2.RemoteEventMessage, PortalKey: o.portal.PortalKey, Timestamp: time.Now(),
			Sender: bridgev2.EventSender{IsFromMe: true, Sender: ids.UserID(ids.Lync, c.meta.SIP)},
		},
		ID:            ids.MessageID(ids.Lync, remoteID),
		TransactionID: o.txnID,
		ConvertMessageFunc: func(context.Context, *bridgev2.Portal, bridgev2.MatrixAPI, struct{}) (*bridgev2.ConvertedMessage, error) {
			return nil, fmt.Errorf("%w: echo of a message no longer pending", bridgev2.ErrIgnoringRemoteEvent)
		},
	})
}

// failPending reports a message as not delivered.
func (c *Client) failPending(o *outgoing, err error) {
	o.msg.RemovePending(o.txnID)
	var st bridgev2.MessageStatus
	if !errors.As(err, &st) {
		st = bridgev2.WrapErrorInStatus(err).WithErrorReason(event.MessageStatusNetworkError).WithSendNotice(true).
			WithMessage("Not delivered to Skype for Business")
	}
	st.Status = event.MessageStatusFail
	if st.ErrorReason == "" {
		st.ErrorReason = event.MessageStatusNetworkError
	}
	c.conn.Env.Bridge.Matrix.SendMessageStatus(c.log.WithContext(context.Background()), &st, bridgev2.StatusEventInfoFromEvent(o.evt))
}

// waitConnected waits for the session while it is (re)connecting. A login
// that cannot connect (bad password, stopped) fails at once.
func (c *Client) waitConnected(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !c.loggedIn.Load() {
		if !c.usable.Load() {
			return errors.New("the Skype for Business login is not usable")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// retrySend runs send until it succeeds, fails for good, or the next try
// would not fit before ctx's deadline. 429 and 5xx answers are retried after
// the server's Retry-After (or a doubling backoff); send must be idempotent
// (it reuses its operation ID).
func (c *Client) retrySend(ctx context.Context, what string, send func() error) error {
	backoff := orDefault(c.conn.RetryBackoffMin, sendRetryMin)
	for attempt := 1; ; attempt++ {
		err := send()
		if err == nil || !ucwa.IsTransient(err) || ctx.Err() != nil {
			return err
		}
		wait := backoff
		var ue *ucwa.Error
		if errors.As(err, &ue) && ue.RetryAfter > wait {
			wait = ue.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err
		}
		c.log.Warn().Err(err).Str("what", what).Int("attempt", attempt).Dur("retry_in", wait).Msg("Send refused for now; retrying")
		c.conn.Env.Metrics.RemoteAPIError("lync", what, statusOf(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}
