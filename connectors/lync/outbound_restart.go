package lync

import (
	"context"
	"errors"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A Matrix message is pending only in memory: a bridge killed while one is
// on its way would leave it without a status forever (Element keeps showing
// it as sending). So the pending messages are listed in one sync-state row,
// and a restarted login marks those still listed as failed, saying that it
// is unknown whether they arrived (there is no sent-message history in UCWA
// to check). Nothing is sent again on its own: that could double it.

const outgoingScope = "lync-outgoing"

type pendingRecord struct {
	RoomID  id.RoomID  `json:"room_id"`
	EventID id.EventID `json:"event_id"`
	// Process tells this process's records from those a killed one left.
	Process string `json:"process"`
}

func (c *Client) recordOutgoing(ctx context.Context, o *outgoing, add bool) {
	c.outgoingMu.Lock()
	defer c.outgoingMu.Unlock()
	list := map[id.EventID]pendingRecord{}
	if _, err := c.conn.Env.DB.SyncState.Get(ctx, c.Login.ID, outgoingScope, &list); err != nil {
		c.log.Err(err).Msg("Cannot read the pending Matrix messages")
	}
	if add {
		list[o.evt.ID] = pendingRecord{RoomID: o.evt.RoomID, EventID: o.evt.ID, Process: c.process}
	} else {
		delete(list, o.evt.ID)
	}
	if err := c.conn.Env.DB.SyncState.Put(ctx, c.Login.ID, outgoingScope, list); err != nil {
		c.log.Err(err).Msg("Cannot record the pending Matrix messages")
	}
}

// failLeftoverOutgoing reports the messages an earlier process left
// pending as failed.
func (c *Client) failLeftoverOutgoing(ctx context.Context) {
	c.outgoingMu.Lock()
	defer c.outgoingMu.Unlock()
	list := map[id.EventID]pendingRecord{}
	ok, err := c.conn.Env.DB.SyncState.Get(ctx, c.Login.ID, outgoingScope, &list)
	if err != nil || !ok || len(list) == 0 {
		return
	}
	for key, rec := range list {
		if rec.Process == c.process {
			continue
		}
		delete(list, key)
		st := bridgev2.WrapErrorInStatus(errors.New("bridge restarted while the message was pending")).
			WithErrorReason(event.MessageStatusNetworkError).WithIsCertain(false).WithSendNotice(true).
			WithMessage("The bridge restarted before Skype for Business confirmed this message; it may not have been delivered.")
		st.Status = event.MessageStatusFail
		c.conn.Env.Bridge.Matrix.SendMessageStatus(ctx, &st, &bridgev2.MessageStatusEventInfo{RoomID: rec.RoomID, SourceEventID: rec.EventID, EventType: event.EventMessage})
		c.log.Warn().Stringer("event_id", rec.EventID).Msg("A Matrix message was pending when the bridge stopped; reported as failed")
	}
	if err := c.conn.Env.DB.SyncState.Put(ctx, c.Login.ID, outgoingScope, list); err != nil {
		c.log.Err(err).Msg("Cannot clear the pending Matrix messages")
	}
}
