package teams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Matrix messages go to Teams in the background, as with Skype (and the
// mautrix bridges): HandleMatrixMessage prepares the message, notes it
// (sent.go) and returns it pending, so the portal goes on bridging what
// comes from Teams while Teams throttles the send. A per-chat queue
// (bridgekit.SendQueue) sends each chat's messages one at a time, in the
// order they were written. 429 and 5xx are retried with the same
// clientmessageid (Teams keeps one message per clientmessageid), waiting
// what Retry-After says, for as long as the send deadline allows.
//
// The pending entry is keyed by the clientmessageid and completed by
// whichever comes first: the send's answer (which names the new message's
// id; confirmSent queues it into the portal) or the Trouter echo carrying
// the clientmessageid. The other one then finds the message's row and is a
// repeat, so it never becomes a second message.
//
// A send that fails, or has not been taken within the deadline, is shown
// as failed with the reason. Teams cannot cancel a message, so should one
// still arrive after that (the request reached Teams just before it was
// given up), the bridge deletes it from Teams and says so in the room
// (sent.go): the user, who saw it fail and may send it again, never gets it
// twice.

// defaultSendDeadline bounds a send from the moment it was written,
// queueing included; it ends before bridgev2's NoEchoTimeout (2 min from the
// same moment, connector.go) could call it failed while it may still arrive.
const defaultSendDeadline = 90 * time.Second

// retryFallback is the wait before retrying a 429/5xx that named no
// Retry-After, once the chat-service client's own retries are spent.
const retryFallback = 2 * time.Second

// sendJob is one Matrix message on its way to Teams.
type sendJob struct {
	chat    string // the portal's conversation
	conv    string // where it is posted (a channel's reply chain, or chat)
	msg     *bridgev2.MatrixMessage
	txn     networkid.TransactionID
	out     chatsvc.Outgoing
	what    string
	written time.Time
	// ctx ends when the login stops (Disconnect): a send queued before
	// that is left to the next session (sent.go), never sent after it.
	ctx context.Context
	// prepare finishes the message before it goes: the reply block's
	// preview, a file's upload. Nil when there is nothing to do.
	prepare func(ctx context.Context, out *chatsvc.Outgoing) error
}

func (c *Client) sendDeadline() time.Duration {
	if c.conn.SendDeadline > 0 {
		return c.conn.SendDeadline
	}
	return defaultSendDeadline
}

// enqueue notes a prepared message and queues it behind the chat's
// earlier ones; the message is pending from here on.
func (c *Client) enqueue(ctx context.Context, job *sendJob) error {
	if err := c.sends.note(ctx, c, job); err != nil {
		return err
	}
	job.ctx = c.sends.context(c.log.WithContext(context.Background()))
	cmid := job.out.ClientMessageID
	job.msg.AddPendingToSave(&database.Message{
		SenderID: c.selfGhost(),
		Metadata: messageMeta.Wrap(&MessageMetadata{ClientMessageID: cmid}),
	}, job.txn, func(evt bridgev2.RemoteMessage, _ *database.Message) (bool, error) {
		note, ok := c.sends.claimDelivered(context.Background(), c, cmid)
		if ok {
			return true, nil
		}
		// The send was reported failed just before Teams' echo of it
		// came through the portal: the failure the user saw stands, and
		// the message is withdrawn from Teams like any late arrival.
		msgID, err := ids.Parse(ids.Teams, string(evt.GetID()))
		if err != nil {
			c.log.Warn().Err(err).Str("clientmessageid", cmid).Msg("Cannot withdraw a failed send that reached Teams: bad message ID")
		} else {
			go c.withdrawLate(c.log.WithContext(context.Background()), cmid, note, msgID)
		}
		return false, bridgev2.ErrNoStatus
	})
	c.sends.queue.Run(job.chat, func() { c.deliver(job) })
	return nil
}

// deliver sends one message, or reports it failed.
func (c *Client) deliver(job *sendJob) {
	base := job.ctx
	if base.Err() != nil {
		return // stopped while queued: the note stays for the next session
	}
	deadline := job.written.Add(c.sendDeadline())
	ctx, cancel := context.WithDeadline(base, deadline)
	defer cancel()
	chat := c.chatClient()
	if chat == nil {
		c.failSend(job, errors.New("not connected to Teams"))
		return
	}
	if job.prepare != nil {
		if err := job.prepare(ctx, &job.out); err != nil {
			if base.Err() == nil {
				c.failSend(job, err)
			}
			return
		}
	}
	for {
		res, err := chat.Send(ctx, job.conv, job.out)
		if err == nil {
			c.confirmSent(job, res)
			return
		}
		if base.Err() != nil {
			// The login is stopping: the note stays, and the next run
			// finds out whether the message arrived (sent.go).
			c.log.Info().Str("clientmessageid", job.out.ClientMessageID).Msg("Stopped while a Matrix message was on its way to Teams")
			return
		}
		wait, again := retryWait(err)
		if again && time.Now().Add(wait).Before(deadline) {
			c.log.Debug().Err(err).Dur("wait", wait).Str("clientmessageid", job.out.ClientMessageID).Msg("Teams is holding up a send; trying again")
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				if base.Err() != nil {
					return
				}
				err = ctx.Err()
			}
		}
		if again && !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the service asked to wait %s, past the send deadline: %w", wait.Round(time.Second), err)
		}
		c.failSend(job, fmt.Errorf("send message: %w", err))
		return
	}
}

// retryWait tells whether a failed send may be tried again, and after how
// long.
func retryWait(err error) (time.Duration, bool) {
	if !errors.Is(err, chatsvc.ErrRateLimited) && !errors.Is(err, chatsvc.ErrServer) {
		return 0, false
	}
	var se *chatsvc.Error
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter, true
	}
	return retryFallback, true
}

// confirmSent completes the pending message from the send's answer, through
// the portal's event queue so it is ordered with the echo: whichever of the
// two comes first saves the row, the other is a repeat of it.
func (c *Client) confirmSent(job *sendJob, res *chatsvc.SendResult) {
	c.horizons.Watch(job.chat)
	ts := res.OriginalArrivalTime
	if ts.IsZero() {
		ts = time.Now()
	}
	meta := simplevent.EventMeta{Type: bridgev2.RemoteEventMessage, PortalKey: job.msg.Portal.PortalKey,
		Sender: c.sender(c.meta.MRI), Timestamp: ts}
	evt := &simplevent.Message[*chatsvc.Message]{EventMeta: meta, ID: ids.MessageID(ids.Teams, res.ID), TransactionID: job.txn,
		// Reached only when the pending entry is gone and no row exists,
		// which nothing should cause; it must not become a message then.
		ConvertMessageFunc: func(context.Context, *bridgev2.Portal, bridgev2.MatrixAPI, *chatsvc.Message) (*bridgev2.ConvertedMessage, error) {
			return nil, bridgev2.ErrIgnoringRemoteEvent
		},
	}
	if r := c.Login.QueueRemoteEvent(evt); r.Error != nil {
		// The echo still completes it.
		c.log.Warn().Err(r.Error).Str("clientmessageid", job.out.ClientMessageID).Msg("Could not record Teams' answer to a send")
	}
}

// failSend reports a message as not delivered, and the status (with a
// notice in the room) says why. The pending entry becomes one that ignores
// the echo, and the note stays as a tombstone: should Teams have taken the
// message after all, it is withdrawn (sent.go) instead of showing up.
//
// Teams may store a message and still answer the request with an error;
// when its echo has delivered the message already (the note is gone), the
// message stays delivered: showing it failed then would have the user send
// it again, and Teams hold it twice.
func (c *Client) failSend(job *sendJob, err error) {
	if !c.sends.markFailed(context.Background(), c, job.out.ClientMessageID) {
		c.log.Info().Err(err).Str("clientmessageid", job.out.ClientMessageID).
			Msg("Teams answered a send with an error after its echo had delivered the message; it stays delivered")
		return
	}
	job.msg.AddPendingToIgnore(job.txn)
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.Join(errors.New("not taken within the send deadline"), err)
	}
	c.log.Warn().Err(err).Stringer("event_id", job.msg.Event.ID).Str("conversation", job.conv).Msg("Matrix message not delivered to Teams")
	var st bridgev2.MessageStatus
	// A status made while preparing (a download or upload failing) keeps
	// its own reason.
	if !errors.As(err, &st) && !errors.As(sendFailure(err, job.what), &st) {
		st = bridgev2.WrapErrorInStatus(err).WithSendNotice(true)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		st = st.WithMessage("Teams did not take the " + job.what + " in time; it was not sent")
	}
	st.Status = event.MessageStatusFail
	c.conn.Env.Bridge.Matrix.SendMessageStatus(c.log.WithContext(context.Background()), &st, bridgev2.StatusEventInfoFromEvent(job.msg.Event))
}
