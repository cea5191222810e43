package skype

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// A send still queued or in flight when the process died left its note
// (sent.go) and nothing else: bridgev2's pending entry lived in memory, so
// the Matrix event would stay "sending" for ever. On the next start the
// sweep settles each such note so the message ends up on Skype exactly
// once or is shown as failed:
//
//   - Skype has it (the catch-up met the clientmessageid and adopted it,
//     or the history look-up below finds it): the row is written for the
//     Matrix event and it gets a success status. Nothing is sent.
//   - Skype does not have it and the message is still within sendDeadline
//     of being written: the Matrix event, kept in the note, is handed to
//     bridgev2 again, as Synapse does when it redelivers an unacknowledged
//     transaction. HandleMatrixMessage recognises it and reuses the note's
//     clientmessageid; the outbox looks in the history once more right
//     before sending (the first run's request may have landed meanwhile),
//     and Skype treats a repeated clientmessageid as the same message. So
//     a short restart loses nothing and doubles nothing.
//   - It is past sendDeadline: it is reported failed ("not sent: the
//     bridge restarted before Skype accepted it"). Sent this late it would
//     land out of context, after the person had likely written it again;
//     bridgev2 would have called it failed by now too.
//
// Synapse's own redelivery of a Matrix event goes through the same check
// in HandleMatrixMessage: an event that has a message row is delivered
// (success status, nothing sent); one whose note this run is settling is
// a duplicate (ignored); one shown as failed stays failed (a failure
// leaves a tombstone note without the content for tombstoneTTL).
//
// The note holds the Matrix event's content until Skype's echo (normally
// under a second); the tombstone keeps only the IDs.

// errRestarted is the reason given for a send the restart cut off.
var errRestarted = errors.New("not sent: the bridge restarted before Skype accepted it")

// tombstoneTTL is how long the note of a failed send stays, so a late
// redelivery of its Matrix event is not sent after the failure was shown.
const tombstoneTTL = 24 * time.Hour

// sendNote is a note's value: the Matrix event a send came from, where it
// goes, and (until the echo) the event itself to send it again. An older
// note is only the event ID.
type sendNote struct {
	Event   id.EventID      `json:"event"`
	Room    id.RoomID       `json:"room,omitempty"`
	Sender  id.UserID       `json:"sender,omitempty"`
	Conv    string          `json:"conv,omitempty"`
	Written int64           `json:"written,omitempty"` // unix ns: the order of the sends, too
	Failed  bool            `json:"failed,omitempty"`
	Matrix  json.RawMessage `json:"matrix,omitempty"`
}

func (n *sendNote) written() time.Time { return time.Unix(0, n.Written) }

func parseNote(s string) (*sendNote, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return &sendNote{Event: id.EventID(s)}, nil
	}
	var n sendNote
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return nil, fmt.Errorf("decode a send note: %w", err)
	}
	return &n, nil
}

// newNote is the note of a send about to be queued.
func newNote(msg *bridgev2.MatrixMessage, conv string, written time.Time) *sendNote {
	n := &sendNote{Event: msg.Event.ID, Room: msg.Event.RoomID, Sender: msg.Event.Sender, Conv: conv, Written: written.UnixNano()}
	if raw, err := json.Marshal(msg.Event); err == nil {
		n.Matrix = raw
	}
	return n
}

// leftoverState is how far this run got with a note an earlier run left.
type leftoverState int

const (
	leftUntouched leftoverState = iota
	leftRequeued                // its Matrix event was handed to bridgev2 again
	leftTaken                   // HandleMatrixMessage is sending it again
	leftAdopted                 // found on Skype: row written, success reported
	leftFailed                  // reported failed
)

type leftover struct {
	cmid  string
	note  *sendNote
	state leftoverState
}

// leftovers are the notes of sends this run did not make, by Matrix event.
type leftovers struct {
	mu      sync.Mutex
	loaded  bool
	byEvent map[id.EventID]*leftover
}

// loadLeftovers reads the notes once, before this run notes any send of
// its own (every HandleMatrixMessage calls it before noteSent).
func (c *Client) loadLeftovers(ctx context.Context) error {
	c.left.mu.Lock()
	defer c.left.mu.Unlock()
	if c.left.loaded {
		return nil
	}
	notes, err := c.conn.Env.DB.Cursor.List(ctx, c.Login.ID, sentStream(""))
	if err != nil {
		return fmt.Errorf("read the notes of earlier sends: %w", err)
	}
	found := map[id.EventID]*leftover{}
	var unreadable []string
	for _, row := range notes {
		note, err := parseNote(row.Cursor)
		if err != nil || note.Event == "" {
			c.log.Warn().Err(err).Str("note", row.Stream).Msg("Dropping an unreadable note of an earlier send")
			unreadable = append(unreadable, strings.TrimPrefix(row.Stream, sentStream("")))
			continue
		}
		lo := &leftover{cmid: strings.TrimPrefix(row.Stream, sentStream("")), note: note}
		if note.Failed {
			lo.state = leftFailed
		}
		found[note.Event] = lo
	}
	for _, cmid := range unreadable {
		c.deleteNote(ctx, cmid)
	}
	c.left.byEvent, c.left.loaded = found, true
	return nil
}

func (c *Client) deleteNote(ctx context.Context, cmid string) {
	if err := c.conn.Env.DB.Cursor.Delete(ctx, c.Login.ID, sentStream(cmid)); err != nil {
		c.log.Warn().Err(err).Str("clientmessageid", cmid).Msg("Cannot delete the note of a send")
	}
}

// setLeftover records a note's state (adding it when this run made it).
func (c *Client) setLeftover(cmid string, note *sendNote, state leftoverState) {
	c.left.mu.Lock()
	defer c.left.mu.Unlock()
	if c.left.byEvent == nil {
		c.left.byEvent = map[id.EventID]*leftover{}
	}
	if lo := c.left.byEvent[note.Event]; lo != nil && lo.cmid == cmid {
		lo.state = state
		return
	}
	c.left.byEvent[note.Event] = &leftover{cmid: cmid, note: note, state: state}
}

// emptyResponse ends HandleMatrixMessage without bridgev2 saving or
// reporting anything (the status was sent, or another handling sends it).
func emptyResponse() *bridgev2.MatrixMessageResponse {
	return &bridgev2.MatrixMessageResponse{Pending: true}
}

// redelivered checks a Matrix message against what earlier handlings of
// the same event did. It returns a response when the event is dealt with,
// or the note of an earlier run whose clientmessageid and time the send
// must reuse, or neither for a new message.
func (c *Client) redelivered(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, *leftover, error) {
	evt := msg.Event
	if part, err := c.conn.Env.Bridge.DB.Message.GetPartByMXID(ctx, evt.ID); err != nil {
		return nil, nil, fmt.Errorf("check whether the message was sent before: %w", err)
	} else if part != nil {
		c.log.Info().Stringer("event_id", evt.ID).Msg("Matrix message delivered again after a restart; it is on Skype already")
		c.conn.Env.Bridge.Matrix.SendMessageStatus(ctx, &bridgev2.MessageStatus{Status: event.MessageStatusSuccess}, bridgev2.StatusEventInfoFromEvent(evt))
		return emptyResponse(), nil, nil
	}
	if err := c.loadLeftovers(ctx); err != nil {
		return nil, nil, err
	}
	c.left.mu.Lock()
	lo := c.left.byEvent[evt.ID]
	if lo == nil {
		c.left.mu.Unlock()
		return nil, nil, nil
	}
	state := lo.state
	if state == leftRequeued {
		lo.state = leftTaken
	}
	c.left.mu.Unlock()
	switch state {
	case leftUntouched:
		// The sweep hands the conversation's unfinished sends to bridgev2
		// in the order they were written; this copy goes with them.
		c.log.Info().Stringer("event_id", evt.ID).Msg("Matrix message delivered again before the sweep; the sweep sends it in order")
	case leftRequeued:
		c.log.Info().Stringer("event_id", evt.ID).Str("clientmessageid", lo.cmid).Msg("Sending a Matrix message again that an earlier run had not finished")
		return nil, lo, nil
	case leftFailed:
		c.log.Info().Stringer("event_id", evt.ID).Msg("Matrix message delivered again after it was reported failed; not sending it")
		c.sendFailStatus(ctx, bridgev2.StatusEventInfoFromEvent(evt), errRestarted, "Sending the message")
	default:
		c.log.Info().Stringer("event_id", evt.ID).Msg("Matrix message delivered again while it is being settled; ignoring the copy")
	}
	return emptyResponse(), nil, nil
}

// sweepSent settles the notes earlier runs left (see the top of the
// file). It runs at the start of each session, after the catch-up.
func (c *Client) sweepSent(ctx context.Context) {
	if err := c.loadLeftovers(ctx); err != nil {
		c.log.Warn().Err(err).Msg("Cannot settle the sends an earlier run left; they stay for the next start")
		return
	}
	c.left.mu.Lock()
	var todo []*leftover
	for _, lo := range c.left.byEvent {
		if lo.state == leftUntouched || (lo.state == leftFailed && time.Since(lo.note.written()) > tombstoneTTL) {
			todo = append(todo, lo)
		}
	}
	c.left.mu.Unlock()
	// In the order they were written: a conversation's sends stay in order.
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].note.Written < todo[j].note.Written })
	for _, lo := range todo {
		if ctx.Err() != nil {
			return
		}
		if lo.state == leftFailed {
			c.deleteNote(ctx, lo.cmid)
			continue
		}
		if evt := lo.note.matrixEvent(); evt != nil {
			c.setLeftover(lo.cmid, lo.note, leftRequeued)
			c.log.Info().Stringer("event_id", evt.ID).Str("clientmessageid", lo.cmid).Msg("Handing a Matrix message an earlier run had not sent to bridgev2 again")
			c.conn.Env.Bridge.QueueMatrixEvent(c.log.WithContext(ctx), evt)
			continue
		}
		c.settleFromHistory(ctx, lo)
	}
}

// matrixEvent is the Matrix event kept in the note, or nil.
func (n *sendNote) matrixEvent() *event.Event {
	if len(n.Matrix) == 0 || n.Room == "" {
		return nil
	}
	var evt event.Event
	if err := json.Unmarshal(n.Matrix, &evt); err != nil || evt.ID != n.Event {
		return nil
	}
	if err := evt.Content.ParseRaw(evt.Type); err != nil {
		return nil
	}
	return &evt
}

// settleFromHistory settles a note whose message cannot be sent again:
// delivered when Skype has it, else failed.
func (c *Client) settleFromHistory(ctx context.Context, lo *leftover) {
	note := lo.note
	if note.Conv == "" {
		// An old note names only the event: a catch-up that meets the
		// message adopts it; after a day it is given up.
		if time.Since(note.written()) > tombstoneTTL {
			c.log.Warn().Stringer("event_id", note.Event).Msg("Forgetting an old note of a send")
			c.deleteNote(ctx, lo.cmid)
		}
		return
	}
	m, err := c.findOnSkype(ctx, note.Conv, lo.cmid, note.written())
	if err != nil {
		c.log.Warn().Err(err).Stringer("event_id", note.Event).Msg("Cannot look for an unfinished send on Skype; the next start tries again")
		return
	}
	if m != nil {
		if _, err = c.adoptSent(ctx, note.Conv, m); err != nil {
			c.log.Warn().Err(err).Stringer("event_id", note.Event).Msg("Cannot record an unfinished send Skype has")
		}
		return
	}
	c.log.Warn().Stringer("event_id", note.Event).Str("conversation", note.Conv).Msg("Matrix message not delivered to Skype: the bridge restarted before Skype accepted it")
	c.sendFailStatus(ctx, note.statusInfo(), errRestarted, "Sending the message")
	c.markSendFailed(ctx, lo.cmid, note)
}

func (n *sendNote) statusInfo() *bridgev2.MessageStatusEventInfo {
	return &bridgev2.MessageStatusEventInfo{RoomID: n.Room, SourceEventID: n.Event, Sender: n.Sender, EventType: event.EventMessage}
}

// sendFailStatus reports a message failed, with a notice in the room.
func (c *Client) sendFailStatus(ctx context.Context, info *bridgev2.MessageStatusEventInfo, err error, what string) {
	var st bridgev2.MessageStatus
	if !errors.As(sendFailure(err, what), &st) {
		st = bridgev2.WrapErrorInStatus(err).WithSendNotice(true)
	}
	if errors.Is(err, errRestarted) {
		st.Message = errRestarted.Error()
	}
	st.Status = event.MessageStatusFail
	if st.ErrorReason == "" {
		st.ErrorReason = event.MessageStatusNetworkError
	}
	c.conn.Env.Bridge.Matrix.SendMessageStatus(c.log.WithContext(ctx), &st, info)
}

// reportAdopted tells Matrix a send an earlier run made did arrive.
func (c *Client) reportAdopted(ctx context.Context, conv string, note *sendNote) {
	info := note.statusInfo()
	if info.RoomID == "" {
		portal, err := c.conn.Env.Bridge.GetExistingPortalByKey(ctx, c.portalKey(conv))
		if err != nil || portal == nil {
			return
		}
		info.RoomID = portal.MXID
	}
	if info.Sender == "" {
		info.Sender = c.Login.UserMXID
	}
	c.conn.Env.Bridge.Matrix.SendMessageStatus(c.log.WithContext(ctx), &bridgev2.MessageStatus{Status: event.MessageStatusSuccess}, info)
}

// markSendFailed replaces a note by its tombstone: a failed send is never
// sent later, also when its Matrix event comes again after a restart.
func (c *Client) markSendFailed(ctx context.Context, cmid string, note *sendNote) {
	c.pendingMu.Lock()
	delete(c.pending, cmid)
	c.pendingMu.Unlock()
	tomb := &sendNote{Event: note.Event, Room: note.Room, Sender: note.Sender, Conv: note.Conv, Written: note.Written, Failed: true}
	c.setLeftover(cmid, tomb, leftFailed)
	raw, _ := json.Marshal(tomb)
	if err := c.conn.Env.DB.Cursor.Put(ctx, c.Login.ID, sentStream(cmid), string(raw)); err != nil {
		c.log.Warn().Err(err).Msg("Cannot record a failed send")
	}
}

// findOnSkype looks for the user's message with a clientmessageid among a
// conversation's messages since it was written.
func (c *Client) findOnSkype(ctx context.Context, conv, cmid string, written time.Time) (*chatsvc.Message, error) {
	msgs, err := c.api.MessagesSince(ctx, conv, written.Add(-gapSlack))
	if err != nil {
		return nil, fmt.Errorf("read the recent messages of %s: %w", conv, err)
	}
	for i := range msgs {
		m := &msgs[i]
		if string(m.ClientMessageID) == cmid && strings.EqualFold(m.Sender(), c.selfMRI()) && m.SkypeEditedID == "" {
			return m, nil
		}
	}
	return nil, nil
}

// settleResend runs before the outbox sends an earlier run's message
// again, and reports whether it is settled without a send: Skype has it
// already (its history entry stands in for the echo and completes the
// pending message), or it is too old to send.
func (c *Client) settleResend(ctx context.Context, job *sendJob) bool {
	lookCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := c.findOnSkype(lookCtx, job.conv, job.cmid, job.written)
	if ctx.Err() != nil {
		c.leaveForSweep(job, c.outboxEnd()) // disconnected meanwhile
		return true
	}
	if err != nil {
		c.log.Warn().Err(err).Stringer("event_id", job.msg.Event.ID).Msg("Cannot look for an unfinished send on Skype; sending it again with the same clientmessageid")
	}
	if m != nil {
		id := msgID(job.conv, job.cmid, "")
		echo := c.remoteMessage(job.conv, c.selfMRI(), id, m)
		if err = c.queue(ctx, &echo.EventMeta, echo, id); err != nil {
			c.log.Warn().Err(err).Stringer("event_id", job.msg.Event.ID).Msg("Cannot complete an unfinished send Skype has; its echo may still do it")
		}
		return true
	}
	if time.Now().After(job.written.Add(sendDeadline)) {
		c.failSend(job, errRestarted)
		return true
	}
	return false
}
