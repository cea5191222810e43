package skype

import (
	"context"
	"encoding/json"
	"fmt"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/simplevent"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// A message sent from Matrix is pending until its echo; bridgev2 keeps the
// pending entry in memory only. If the bridge dies between Skype accepting
// the send and the echo, the next run's catch-up would find the user's own
// message with no row and bridge it a second time. So each send is noted
// in the cursor table (stream "skype.sent:<clientmessageid>" → sweep.go's
// sendNote, naming the Matrix event) before it goes out, and removed when
// the echo saved the row (a failure leaves a tombstone); a catch-up that
// meets a noted message adopts the existing Matrix event, and the next
// start's sweep settles the rest (sweep.go).

func sentStream(cmid string) string { return "skype.sent:" + cmid }

func (c *Client) noteSent(ctx context.Context, cmid string, note *sendNote) error {
	c.pendingMu.Lock()
	c.pending[cmid] = true
	c.pendingMu.Unlock()
	raw, err := json.Marshal(note)
	if err != nil {
		return fmt.Errorf("note the pending send: %w", err)
	}
	if err := c.conn.Env.DB.Cursor.Put(ctx, c.Login.ID, sentStream(cmid), string(raw)); err != nil {
		return fmt.Errorf("note the pending send: %w", err)
	}
	return nil
}

func (c *Client) forgetSent(ctx context.Context, cmid string) {
	c.pendingMu.Lock()
	delete(c.pending, cmid)
	c.pendingMu.Unlock()
	if err := c.conn.Env.DB.Cursor.Delete(ctx, c.Login.ID, sentStream(cmid)); err != nil {
		c.log.Warn().Err(err).Msg("Cannot forget a delivered send")
	}
}

// echoSaved is the RemoteEchoHandler of a pending send: the row bridgev2
// saves gets the server id from the echo (edits and deletions go by it),
// and the note is no longer needed.
func (c *Client) echoSaved(cmid string) bridgev2.RemoteEchoHandler {
	return func(evt bridgev2.RemoteMessage, row *database.Message) (bool, error) {
		if echo, ok := evt.(*simplevent.Message[*chatsvc.Message]); ok && echo.Data != nil && echo.Data.ID != "" {
			row.Metadata = messageMeta.Wrap(&MessageMetadata{ServerID: string(echo.Data.ID)})
		}
		c.forgetSent(context.Background(), cmid)
		return true, nil
	}
}

// adoptSent handles the user's own message found without a row: when an
// earlier run sent it from Matrix, the row is written for the Matrix event
// it came from, and it reports true (nothing to bridge).
func (c *Client) adoptSent(ctx context.Context, conv string, m *chatsvc.Message) (bool, error) {
	cmid := string(m.ClientMessageID)
	c.pendingMu.Lock()
	inMemory := c.pending[cmid]
	c.pendingMu.Unlock()
	if cmid == "" || inMemory {
		// Sent by this run: bridgev2's pending entry takes the echo.
		return false, nil
	}
	value, err := c.conn.Env.DB.Cursor.Get(ctx, c.Login.ID, sentStream(cmid))
	if err != nil || value == "" {
		return false, err
	}
	note, err := parseNote(value)
	if err != nil {
		return false, err
	}
	id := msgID(conv, cmid, "")
	if part, err := c.existing(ctx, id); err != nil {
		return false, err
	} else if part == nil {
		row := &database.Message{
			ID: id, MXID: note.Event, Room: c.portalKey(conv), SenderID: ghostID(c.selfMRI()),
			Timestamp: m.Time(), Metadata: messageMeta.Wrap(&MessageMetadata{ServerID: string(m.ID)}),
		}
		if err := c.conn.Env.Bridge.DB.Message.Insert(ctx, row); err != nil {
			return false, fmt.Errorf("save the row of a message sent before the restart: %w", err)
		}
		c.log.Info().Str("clientmessageid", cmid).Msg("Adopted a message sent from Matrix before the restart")
	}
	c.setLeftover(cmid, note, leftAdopted)
	c.reportAdopted(ctx, conv, note)
	c.forgetSent(ctx, cmid)
	return true, nil
}
