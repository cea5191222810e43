package skype

import (
	"context"
	"errors"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

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
// the same moment) could call it failed while it may still arrive.
const sendDeadline = 90 * time.Second

// sendJob is one Matrix message waiting to go to Skype.
type sendJob struct {
	conv    string
	msg     *bridgev2.MatrixMessage
	txn     networkid.TransactionID
	cmid    string
	what    string
	written time.Time
	// build makes the outgoing message (for a file: uploads it first).
	build func(ctx context.Context) (skypeapi.Outgoing, error)
}

// outbox runs the sends, each conversation's in order (bridgekit.SendQueue).
type outbox = bridgekit.SendQueue

// enqueue adds a send behind the conversation's earlier ones.
func (c *Client) enqueue(job *sendJob) {
	c.out.Run(job.conv, func() { c.deliver(job) })
}

// deliver sends one message, or reports it failed.
func (c *Client) deliver(job *sendJob) {
	ctx, cancel := context.WithDeadline(c.log.WithContext(context.Background()), job.written.Add(sendDeadline))
	defer cancel()
	if c.api == nil {
		c.failSend(job, errors.New("not connected to Skype"))
		return
	}
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
	c.forgetSent(context.Background(), job.cmid)
	c.log.Warn().Err(err).Stringer("event_id", job.msg.Event.ID).Str("conversation", job.conv).Msg("Matrix message not delivered to Skype")
	var st bridgev2.MessageStatus
	if !errors.As(sendFailure(err, job.what), &st) {
		st = bridgev2.WrapErrorInStatus(err).WithSendNotice(true)
	}
	st.Status = event.MessageStatusFail
	if st.ErrorReason == "" {
		st.ErrorReason = event.MessageStatusNetworkError
	}
	c.conn.Env.Bridge.Matrix.SendMessageStatus(c.log.WithContext(context.Background()), &st, bridgev2.StatusEventInfoFromEvent(job.msg.Event))
}
