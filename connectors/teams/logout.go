package teams

import (
	"context"
	"errors"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"
)

// A logout ends the login for good: no later session settles the sends
// still queued or on their way (sent.go), and bridgev2 deletes the login's
// rows, notes included. So LogoutRemote settles them itself, after the
// sends have stopped: each is shown failed with errSignedOut (unless its
// row shows it reached Teams meanwhile), and the notes go.

// errSignedOut is the reason given for the sends a logout cut off.
var errSignedOut = errors.New("not sent: you signed out of Teams")

// stopWait bounds how long a logout waits for the stopped sends to return.
const stopWait = 10 * time.Second

// failSendsOnLogout runs after Disconnect has stopped the sends.
func (c *Client) failSendsOnLogout(ctx context.Context) {
	c.sends.awaitStopped(ctx, c)
	for _, p := range c.sends.takeAll(ctx, c) {
		if part, err := c.conn.Env.Bridge.DB.Message.GetPartByMXID(ctx, p.note.EventID); err != nil {
			c.log.Warn().Err(err).Stringer("event_id", p.note.EventID).Msg("Cannot tell whether a send cut off by the logout reached Teams; reporting it failed")
		} else if part != nil {
			continue // Teams answered before the sends stopped
		}
		info := &bridgev2.MessageStatusEventInfo{RoomID: p.note.RoomID, SourceEventID: p.note.EventID, EventType: event.EventMessage}
		if p.job != nil {
			// bridgev2 would otherwise call it timed out later.
			p.job.msg.AddPendingToIgnore(p.job.txn)
			info = bridgev2.StatusEventInfoFromEvent(p.job.msg.Event)
		}
		st := bridgev2.WrapErrorInStatus(errSignedOut).WithErrorReason(event.MessageStatusNetworkError).
			WithSendNotice(true).WithMessage(errSignedOut.Error())
		st.Status = event.MessageStatusFail
		c.conn.Env.Bridge.Matrix.SendMessageStatus(c.log.WithContext(ctx), &st, info)
		c.log.Warn().Str("clientmessageid", p.cmid).Stringer("event_id", p.note.EventID).Msg("Matrix message not delivered to Teams: the user signed out")
	}
}

// awaitStopped waits until every chat with a pending send has run what was
// queued before the stop (each of those returns at once, its context
// ended), so none is still on its way when the notes are settled.
func (s *sends) awaitStopped(ctx context.Context, c *Client) {
	s.mu.Lock()
	s.loadLocked(ctx, c)
	chats := map[string]bool{}
	for _, n := range s.notes {
		if n.State == noteSending {
			chats[n.Chat] = true
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, stopWait)
	defer cancel()
	for chat := range chats {
		done := make(chan struct{})
		s.queue.Run(chat, func() { close(done) })
		select {
		case <-done:
		case <-ctx.Done():
			c.log.Warn().Str("chat", chat).Msg("Sends still running after the logout; reporting them failed anyway")
			return
		}
	}
}

// cutOff is a pending send a logout settles.
type cutOff struct {
	cmid string
	note sendNote
	job  *sendJob // nil for an earlier run's send
}

// takeAll removes every note, of this run and earlier ones, and returns
// those of sends still pending.
func (s *sends) takeAll(ctx context.Context, c *Client) []cutOff {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	var out []cutOff
	for cmid, n := range s.notes {
		if n.State == noteSending {
			out = append(out, cutOff{cmid: cmid, note: *n, job: s.jobs[cmid]})
		}
	}
	s.notes, s.jobs = map[string]*sendNote{}, nil
	if err := c.conn.Env.DB.SyncState.Delete(ctx, c.Login.ID, sendsScope); err != nil {
		c.log.Warn().Err(err).Msg("Cannot delete the notes of the sends cut off by the logout")
	}
	return out
}
