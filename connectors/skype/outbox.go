package skype

import (
	"context"
	"errors"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/metrics"
)

// The outbox sends Matrix messages to Skype in the background. A send that
// Skype holds up (429 or 503 with Retry-After, an upload, a slow host) is
// retried with the same clientmessageid inside the chat-service client;
// done in the portal's handler it would hold the portal, so the messages
// coming from Skype meanwhile would wait too. So HandleMatrixMessage only
// prepares the message and returns it pending; the outbox sends each
// conversation's messages one at a time, in the order they were written,
// and Skype's echo (matched by clientmessageid) completes them as before. A
// send that fails, or cannot finish within sendDeadline of being written,
// is reported failed with the reason and never sent after that.

// sendDeadline bounds a send from the moment it was written, queueing
// included, so it is settled before bridgev2's NoEchoTimeout (2 min from
// the same moment) could call it failed while it may still arrive. A send
// an earlier run left (sweep.go) keeps the time it was first written.
const sendDeadline = 90 * time.Second

// sendJob is one Matrix message waiting to go to Skype.
type sendJob struct {
	conv    string
	msg     *bridgev2.MatrixMessage
	txn     networkid.TransactionID
	cmid    string
	what    string
	written time.Time
	note    *sendNote
	// resend marks a send an earlier run had not finished (sweep.go).
	resend bool
	// build makes the outgoing message (for a file: uploads it first).
	build func(ctx context.Context) (skypeapi.Outgoing, error)
}

// outbox runs the sends, each conversation's in order, on the shared
// bridgekit.SendQueue; it also knows which sends are queued and not yet
// started, so that a disconnect can hand every one of them to the next
// start's sweep at once rather than leave them to a drain still running.
type outbox struct {
	queue bridgekit.SendQueue

	mu     sync.Mutex
	queued map[*sendJob]bool
	// ctx ends when the client disconnects (stopOutbox); the sends still
	// queued then stay noted for the next start's sweep, as after a kill.
	ctx    context.Context
	cancel context.CancelFunc
	// endAs, when set, is why the stopped sends fail instead (logout:
	// there is no next start for this login).
	endAs error
}

// enqueue adds a send behind the conversation's earlier ones.
func (c *Client) enqueue(job *sendJob) {
	c.out.mu.Lock()
	if c.out.queued == nil {
		c.out.queued = map[*sendJob]bool{}
	}
	if c.out.ctx == nil || c.out.ctx.Err() != nil {
		c.out.ctx, c.out.cancel = context.WithCancel(c.log.WithContext(context.Background()))
	}
	c.out.queued[job] = true
	ctx := c.out.ctx
	c.out.mu.Unlock()
	c.out.queue.Run(job.conv, func() {
		if !c.take(job) {
			return // stopOutbox handed it to the sweep already
		}
		if ctx.Err() != nil {
			c.leaveForSweep(job, c.outboxEnd())
			return
		}
		c.deliver(ctx, job)
	})
}

// take marks a queued send as started; false when it is no longer queued.
func (c *Client) take(job *sendJob) bool {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	if !c.out.queued[job] {
		return false
	}
	delete(c.out.queued, job)
	return true
}

// stopOutbox ends the sends on Disconnect without reporting them: their
// notes stay, and the next session's sweep settles them.
func (c *Client) stopOutbox() {
	c.out.mu.Lock()
	if c.out.cancel != nil {
		c.out.cancel()
	}
	jobs := make([]*sendJob, 0, len(c.out.queued))
	for job := range c.out.queued {
		jobs = append(jobs, job)
	}
	c.out.queued = nil
	endAs := c.out.endAs
	c.out.mu.Unlock()
	for _, job := range jobs {
		c.leaveForSweep(job, endAs)
	}
}

// failOutbox makes the sends a later stopOutbox ends fail with err.
func (c *Client) failOutbox(err error) {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	c.out.endAs = err
}

// outboxEnd is failOutbox's reason, or nil.
func (c *Client) outboxEnd() error {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.endAs
}

// leaveForSweep hands a send this run did not finish to the sweep (or,
// with endAs, reports it failed).
func (c *Client) leaveForSweep(job *sendJob, endAs error) {
	if endAs != nil {
		c.failSend(job, endAs)
		return
	}
	c.pendingMu.Lock()
	delete(c.pending, job.cmid)
	c.pendingMu.Unlock()
	c.setLeftover(job.cmid, job.note, leftUntouched)
}

// deliver sends one message, or reports it failed.
func (c *Client) deliver(stop context.Context, job *sendJob) {
	if c.api == nil {
		c.failSend(job, errors.New("not connected to Skype"))
		return
	}
	if job.resend && c.settleResend(stop, job) {
		return
	}
	ctx, cancel := context.WithDeadline(stop, job.written.Add(sendDeadline))
	defer cancel()
	out, err := job.build(ctx)
	if err == nil {
		out.ClientMessageID = job.cmid
		start := time.Now()
		if _, err = c.api.Send(ctx, job.conv, out); err == nil {
			// Skype's echo saves the row and reports success.
			c.conn.Env.Metrics.MessageBridged(string(ids.Skype), metrics.ToRemote, time.Since(start))
			c.watchGroup(job.conv)
			return
		}
	}
	if stop.Err() != nil {
		// Disconnected mid-send: Skype may or may not have it; the
		// next session's sweep looks.
		c.leaveForSweep(job, c.outboxEnd())
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.Join(errors.New("the Skype service did not take it in time"), err)
	}
	c.failSend(job, err)
}

// failSend reports a message as not delivered, and the status (with a
// notice in the room) says why. Its pending entry is turned into one that
// ignores the echo: a message shown as failed never shows up later (should
// Skype have taken it after all), and bridgev2 does not report it timed
// out on top. (RemovePending would do the first, but it edits the Matrix
// event's list of pending saves, which bridgev2 may still be reading just
// after the handler returned.)
func (c *Client) failSend(job *sendJob, err error) {
	job.msg.AddPendingToIgnore(job.txn)
	c.log.Warn().Err(err).Stringer("event_id", job.msg.Event.ID).Str("conversation", job.conv).Msg("Matrix message not delivered to Skype")
	c.sendFailStatus(context.Background(), bridgev2.StatusEventInfoFromEvent(job.msg.Event), err, job.what)
	c.markSendFailed(context.Background(), job.cmid, job.note)
}
