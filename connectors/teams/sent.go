package teams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// bridgev2 keeps pending messages in memory only. A bridge killed while a
// send is queued or on its way would leave the Matrix message without a
// status (shown as sending forever), and a catch-up finding the user's own
// message with no row would bridge it a second time. So every send is
// noted, by clientmessageid, in one sync-state row of the login, before it
// is queued; the note goes when the row is saved. When a session starts,
// the notes an earlier run left are settled: a message Teams has (looked
// up in the chat by clientmessageid) gets its row for the Matrix event it
// came from and a success status; one it has not is shown as failed. The
// bridge never sends such a message again on its own: the user, who sees
// it failed, decides.
//
// A failed send's note stays as a tombstone for tombstoneAge: if the
// message shows up in Teams after all, it is deleted there and the room is
// told, so a message shown as failed never arrives late.

const (
	sendsScope   = "teams-outgoing"
	tombstoneAge = 24 * time.Hour
)

type noteState string

const (
	noteSending noteState = "sending"
	noteFailed  noteState = "failed"
	// noteWithdrawn: it arrived late and was deleted from Teams; a repeat
	// of that arrival is dropped.
	noteWithdrawn noteState = "withdrawn"
)

// sendNote is one noted send.
type sendNote struct {
	Chat    string     `json:"chat"`
	RoomID  id.RoomID  `json:"room_id"`
	EventID id.EventID `json:"event_id"`
	State   noteState  `json:"state"`
	Written time.Time  `json:"written"`
	// Process tells this run's notes from those an earlier run left.
	Process string `json:"process"`
}

// sends is a login's outgoing side: the queue, the notes and the context
// the sends run in (ended by Disconnect).
type sends struct {
	queue bridgekit.SendQueue

	mu    sync.Mutex
	notes map[string]*sendNote // clientmessageid → note; nil until loaded
	// jobs are this run's sends still noted, for a logout to settle
	// their pending entries (logout.go).
	jobs    map[string]*sendJob
	process string
	ctx     context.Context
	cancel  context.CancelFunc
}

func newProcessID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// context is the one the sends run in until stop.
func (s *sends) context(parent context.Context) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(parent)
	}
	return s.ctx
}

// stop ends the running sends (their notes stay) and makes the notes of
// this run leftovers for the next session to settle.
func (s *sends) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	s.ctx, s.cancel = nil, nil
	s.process = newProcessID()
}

// loadLocked reads the notes once (caller holds mu).
func (s *sends) loadLocked(ctx context.Context, c *Client) {
	if s.process == "" {
		s.process = newProcessID()
	}
	if s.notes != nil {
		return
	}
	s.notes = map[string]*sendNote{}
	if _, err := c.conn.Env.DB.SyncState.Get(ctx, c.Login.ID, sendsScope, &s.notes); err != nil {
		c.log.Err(err).Msg("Cannot read the noted Matrix sends")
	}
	if s.notes == nil {
		s.notes = map[string]*sendNote{}
	}
	for cmid, n := range s.notes {
		if n.State != noteSending && time.Since(n.Written) > tombstoneAge {
			delete(s.notes, cmid)
		}
	}
}

func (s *sends) saveLocked(ctx context.Context, c *Client) error {
	if err := c.conn.Env.DB.SyncState.Put(ctx, c.Login.ID, sendsScope, s.notes); err != nil {
		return fmt.Errorf("note the pending sends: %w", err)
	}
	return nil
}

func (s *sends) note(ctx context.Context, c *Client, job *sendJob) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	s.notes[job.out.ClientMessageID] = &sendNote{Chat: job.chat, RoomID: job.msg.Event.RoomID, EventID: job.msg.Event.ID,
		State: noteSending, Written: job.written, Process: s.process}
	if s.jobs == nil {
		s.jobs = map[string]*sendJob{}
	}
	s.jobs[job.out.ClientMessageID] = job
	return s.saveLocked(ctx, c)
}

// claimDelivered forgets the note of a send Teams has taken, unless the
// send was reported failed a moment before: then the failure stands, the
// note is returned for withdrawing the message, and ok is false.
func (s *sends) claimDelivered(ctx context.Context, c *Client, cmid string) (note sendNote, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	n := s.notes[cmid]
	if n == nil {
		return sendNote{}, true
	}
	if n.State != noteSending {
		return *n, false
	}
	delete(s.notes, cmid)
	if err := s.saveLocked(ctx, c); err != nil {
		c.log.Warn().Err(err).Msg("Cannot forget a delivered send")
	}
	return *n, true
}

func (s *sends) forget(ctx context.Context, c *Client, cmid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	delete(s.jobs, cmid)
	if _, ok := s.notes[cmid]; !ok {
		return
	}
	delete(s.notes, cmid)
	if err := s.saveLocked(ctx, c); err != nil {
		c.log.Warn().Err(err).Msg("Cannot forget a delivered send")
	}
}

// markFailed records a send as failed; false means its note was gone: the
// echo had already delivered it (the row saved, the note forgotten).
func (s *sends) markFailed(ctx context.Context, c *Client, cmid string) bool {
	return s.mark(ctx, c, cmid, noteFailed)
}

// mark sets the state of a noted send, telling whether it was noted.
func (s *sends) mark(ctx context.Context, c *Client, cmid string, state noteState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	delete(s.jobs, cmid)
	n := s.notes[cmid]
	if n == nil {
		return false
	}
	n.State = state
	if err := s.saveLocked(ctx, c); err != nil {
		c.log.Warn().Err(err).Msg("Cannot record a failed send")
	}
	return true
}

// lookup returns a copy of the note of cmid and whether this run's queue
// still owns it.
func (s *sends) lookup(ctx context.Context, c *Client, cmid string) (sendNote, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	n := s.notes[cmid]
	if n == nil {
		return sendNote{}, false, false
	}
	return *n, n.State == noteSending && n.Process == s.process, true
}

// leftovers are the notes of sends an earlier run did not finish.
func (s *sends) leftovers(ctx context.Context, c *Client) map[string]sendNote {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked(ctx, c)
	out := map[string]sendNote{}
	for cmid, n := range s.notes {
		if n.State == noteSending && n.Process != s.process {
			out[cmid] = *n
		}
	}
	return out
}

// settleOwn handles the user's own message coming from Teams when a note
// names its clientmessageid and this run is not sending it: a failed send
// that arrived after all is withdrawn, one an earlier run sent is adopted.
// It reports true when nothing is left to bridge.
func (c *Client) settleOwn(ctx context.Context, m *chatsvc.Message) bool {
	cmid := string(m.ClientMessageID)
	if cmid == "" {
		return false
	}
	note, ours, ok := c.sends.lookup(ctx, c, cmid)
	if !ok || ours {
		return false
	}
	switch note.State {
	case noteWithdrawn:
		c.log.Debug().Str("clientmessageid", cmid).Msg("Dropping a repeat of a withdrawn late message")
		return true
	case noteFailed:
		c.withdrawLate(ctx, cmid, note, string(m.ID))
		return true
	}
	if err := c.adoptSent(ctx, cmid, note, m); err != nil {
		// Bridging it now would show it twice; the note stays, so a later
		// catch-up tries again.
		c.log.Err(err).Str("clientmessageid", cmid).Msg("Cannot adopt a message sent before the restart")
	}
	return true
}

// settleLeftovers settles the sends an earlier run left noted, before the
// catch-up could meet them.
func (c *Client) settleLeftovers(ctx context.Context) {
	chat := c.chatClient()
	for cmid, note := range c.sends.leftovers(ctx, c) {
		found, err := c.findSent(ctx, chat, note, cmid)
		switch {
		case err != nil:
			c.log.Warn().Err(err).Str("clientmessageid", cmid).Msg("Cannot tell whether a message sent before the restart reached Teams")
			c.failLeftover(ctx, cmid, note, false)
		case found != nil:
			if err = c.adoptSent(ctx, cmid, note, found); err != nil {
				c.log.Err(err).Str("clientmessageid", cmid).Msg("Cannot adopt a message sent before the restart")
			}
		default:
			c.failLeftover(ctx, cmid, note, true)
		}
	}
}

// findSent looks for the user's message with the clientmessageid among the
// chat's messages since the send was written.
func (c *Client) findSent(ctx context.Context, chat *chatsvc.Client, note sendNote, cmid string) (*chatsvc.Message, error) {
	if chat == nil {
		return nil, errors.New("not connected to Teams")
	}
	msgs, err := chat.MessagesSince(ctx, note.Chat, note.Written.Add(-time.Minute), 100)
	if err != nil {
		return nil, fmt.Errorf("read the chat: %w", err)
	}
	for i := range msgs {
		if string(msgs[i].ClientMessageID) == cmid && isSelf(msgs[i].Sender(), c.meta.MRI) && !msgs[i].IsDeleted() {
			return &msgs[i], nil
		}
	}
	return nil, nil
}

// adoptSent writes the row of a message an earlier run sent, for the Matrix
// event it came from, and reports it delivered.
func (c *Client) adoptSent(ctx context.Context, cmid string, note sendNote, m *chatsvc.Message) error {
	msgID := ids.MessageID(ids.Teams, string(m.ID))
	existing, err := c.conn.Env.Bridge.DB.Message.GetFirstPartByID(ctx, c.Login.ID, msgID)
	if err != nil {
		return fmt.Errorf("look up the row of a message sent before the restart: %w", err)
	}
	if existing == nil {
		row := &database.Message{ID: msgID, MXID: note.EventID, Room: c.portalKey(note.Chat), SenderID: c.selfGhost(),
			Timestamp: m.Time(), Metadata: messageMeta.Wrap(&MessageMetadata{ClientMessageID: cmid})}
		if err := c.conn.Env.Bridge.DB.Message.Insert(ctx, row); err != nil {
			return fmt.Errorf("save the row of a message sent before the restart: %w", err)
		}
	}
	st := bridgev2.MessageStatus{Status: event.MessageStatusSuccess}
	c.conn.Env.Bridge.Matrix.SendMessageStatus(ctx, &st, &bridgev2.MessageStatusEventInfo{RoomID: note.RoomID, SourceEventID: note.EventID, EventType: event.EventMessage})
	c.sends.forget(ctx, c, cmid)
	c.log.Info().Str("clientmessageid", cmid).Stringer("event_id", note.EventID).Msg("A message sent before the restart reached Teams; adopted it")
	return nil
}

// failLeftover shows a send an earlier run left unfinished as failed; its
// note stays as a tombstone.
func (c *Client) failLeftover(ctx context.Context, cmid string, note sendNote, certain bool) {
	text := "The bridge restarted before Teams took this message; it was not sent."
	if !certain {
		text = "The bridge restarted before Teams confirmed this message, and Teams could not be asked; should it show up there, it will be deleted."
	}
	st := bridgev2.WrapErrorInStatus(errors.New("bridge restarted while the message was pending")).
		WithErrorReason(event.MessageStatusNetworkError).WithIsCertain(certain).WithSendNotice(true).WithMessage(text)
	st.Status = event.MessageStatusFail
	c.conn.Env.Bridge.Matrix.SendMessageStatus(ctx, &st, &bridgev2.MessageStatusEventInfo{RoomID: note.RoomID, SourceEventID: note.EventID, EventType: event.EventMessage})
	c.sends.markFailed(ctx, c, cmid)
	c.log.Warn().Str("clientmessageid", cmid).Stringer("event_id", note.EventID).Msg("A Matrix message was pending when the bridge stopped; reported as failed")
}

// withdrawLate deletes from Teams a message that arrived after its send was
// reported failed, and tells the room.
func (c *Client) withdrawLate(ctx context.Context, cmid string, note sendNote, msgID string) {
	c.deletedHere.Store(msgID, struct{}{})
	text := "A message shown here as not sent reached Teams late; the bridge deleted it there, so it is not doubled if you send it again."
	chat := c.chatClient()
	var err error
	if chat == nil {
		err = errors.New("not connected to Teams")
	} else if err = chat.Delete(ctx, note.Chat, msgID); errors.Is(err, chatsvc.ErrNotFound) {
		err = nil
	}
	if err != nil {
		text = "A message shown here as not sent reached Teams late, and the bridge could not delete it there: the Teams members can see it."
		c.log.Err(err).Str("clientmessageid", cmid).Msg("Cannot delete a late message from Teams")
	} else {
		c.log.Warn().Str("clientmessageid", cmid).Stringer("event_id", note.EventID).Msg("A failed send reached Teams late; deleted it there")
		c.sends.mark(ctx, c, cmid, noteWithdrawn)
	}
	_, serr := c.conn.Env.Bridge.Bot.SendMessage(ctx, note.RoomID, event.EventMessage, &event.Content{Parsed: &event.MessageEventContent{
		MsgType: event.MsgNotice, Body: text,
		RelatesTo: (&event.RelatesTo{}).SetReplyTo(note.EventID),
	}}, nil)
	if serr != nil {
		c.log.Err(serr).Msg("Cannot tell the room about a late message")
	}
}
