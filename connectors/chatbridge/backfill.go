// Package chatbridge holds the bridgev2 side that the connectors on the
// shared chat-service client (skype, teams) have alike and that needs the
// chat service's types: backfill over its history pages. What needs no
// chatsvc types is in connectors/bridgekit.
package chatbridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// History is where backfill reads a conversation's messages: the chat
// service of the login's session (skypeapi.Client, or a chatsvc.Client).
type History interface {
	// History returns up to limit messages that arrived before `before`
	// (zero: the newest), in any order.
	History(ctx context.Context, conv string, before time.Time, limit int) ([]chatsvc.Message, error)
	// MessagesSince returns the messages that arrived after since.
	MessagesSince(ctx context.Context, conv string, since time.Time) ([]chatsvc.Message, error)
}

// defaultCount is the page size when bridgev2 asks for no particular count.
const defaultCount = 50

// unbridgeableBody stands in the history for a message that could not be
// converted: the room shows that something is missing there (the log says
// why), instead of a gap nobody notices or a history that stops at it.
const unbridgeableBody = "A message in this chat's history could not be bridged."

// Backfill serves bridgev2's FetchMessages from a chat service's history:
// forward for a new room (its recent history) or after the newest bridged
// message, backward in pages older than the oldest bridged one.
type Backfill struct {
	// Client is the login's client: its login, and the guard against other
	// protocols' and logins' portals.
	Client *protocol.ClientBase
	Log    *zerolog.Logger
	// Source is the current session's history, or nil while there is none
	// (backfill may be asked for before the session is up).
	Source func() History
	// InitialMessages, when set, caps the history a new room gets below
	// bridgev2's count (the connector's initial_messages).
	InitialMessages int
	// UnknownAsNotices says that live messages of unknown types are bridged
	// as notices (Skype), so history shows them too.
	UnknownAsNotices bool

	// Sender is the event sender of a chat-service MRI.
	Sender func(mri string) bridgev2.EventSender
	// Convert turns a message into Matrix parts (as for a live message);
	// bridgev2.ErrIgnoringRemoteEvent leaves the message out.
	Convert func(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message) (*bridgev2.ConvertedMessage, error)
	// NewMetadata makes the message metadata of the stand-in for a message
	// that could not be converted (so edits and deletes still find it).
	NewMetadata func(m *chatsvc.Message) any
	// Fill sets the protocol's own parts of a backfill message: its ID, and
	// whatever else the protocol has (transaction ID, stream order,
	// reactions).
	Fill func(conv string, m *chatsvc.Message, bm *bridgev2.BackfillMessage)
}

// FetchMessages is bridgev2's FetchMessages for one of the login's portals.
func (b *Backfill) FetchMessages(ctx context.Context, params bridgev2.FetchMessagesParams) (*bridgev2.FetchMessagesResponse, error) {
	if err := b.Client.CheckPortal(params.Portal); err != nil {
		return nil, err
	}
	conv, err := ids.Parse(b.Client.Proto, string(params.Portal.ID))
	if err != nil {
		return nil, err
	}
	src := b.Source()
	if src == nil {
		return nil, bridgev2.ErrNotLoggedIn
	}
	count := params.Count
	if params.Forward && params.AnchorMessage == nil && b.InitialMessages > 0 {
		count = min(count, b.InitialMessages)
	}
	if count <= 0 {
		count = defaultCount
	}
	var msgs []chatsvc.Message
	switch {
	case params.Forward && params.AnchorMessage != nil:
		msgs, err = src.MessagesSince(ctx, conv, params.AnchorMessage.Timestamp)
	case params.Forward:
		msgs, err = src.History(ctx, conv, time.Time{}, count)
	default:
		var before time.Time
		if params.Cursor != "" {
			if before, err = ParseCursor(params.Cursor); err != nil {
				return nil, err
			}
		} else if params.AnchorMessage != nil {
			before = params.AnchorMessage.Timestamp
		}
		msgs, err = src.History(ctx, conv, before, count)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the history of %s: %w", conv, err)
	}
	// bridgev2 wants oldest first. Of more than asked for, the newest are
	// kept: forward, they lead up to now; backward, they join the bridged
	// history, and the cursor (the oldest kept) leads to the rest.
	slices.SortStableFunc(msgs, func(a, b chatsvc.Message) int { return a.Time().Compare(b.Time()) })
	if len(msgs) > count {
		b.Log.Warn().Str("conversation", conv).Int("messages", len(msgs)).Int("count", count).Bool("forward", params.Forward).
			Msg("History has more messages than backfill asked for; backfilling the newest")
		msgs = msgs[len(msgs)-count:]
	}
	resp := &bridgev2.FetchMessagesResponse{Forward: params.Forward, HasMore: !params.Forward && len(msgs) >= count}
	if len(msgs) > 0 && !params.Forward {
		resp.Cursor = Cursor(msgs[0].Time())
	}
	for i := range msgs {
		m := &msgs[i]
		if !b.backfillable(m) {
			continue
		}
		bm, err := b.backfillMessage(ctx, conv, params.Portal, m)
		if err != nil {
			return nil, err
		}
		if bm != nil {
			resp.Messages = append(resp.Messages, bm)
		}
	}
	return resp, nil
}

// backfillMessage converts one history message (nil: leave it out).
func (b *Backfill) backfillMessage(ctx context.Context, conv string, portal *bridgev2.Portal, m *chatsvc.Message) (*bridgev2.BackfillMessage, error) {
	sender := b.Sender(m.Sender())
	intent, ok := portal.GetIntentFor(ctx, sender, b.Client.Login, bridgev2.RemoteEventBackfill)
	if !ok {
		// Only a database failure gets here; the page is asked for again
		// later, while posting the message as someone else would be wrong.
		return nil, fmt.Errorf("no Matrix user for %s in the history of %s", m.Sender(), conv)
	}
	cm, err := b.Convert(ctx, portal, intent, m)
	if errors.Is(err, bridgev2.ErrIgnoringRemoteEvent) {
		return nil, nil
	} else if err != nil {
		b.Log.Warn().Err(err).Str("conversation", conv).Str("message_id", string(m.ID)).
			Msg("History message not converted; bridging a notice in its place")
		cm = &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
			Type: event.EventMessage, Content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: unbridgeableBody},
			DBMetadata: b.NewMetadata(m),
		}}}
	}
	bm := &bridgev2.BackfillMessage{ConvertedMessage: cm, Sender: sender, Timestamp: m.Time()}
	b.Fill(conv, m, bm)
	return bm, nil
}

// backfillable says whether a history entry is a message of its own, as
// live bridging would show it: edit records are already folded into the
// original's content, deleted messages are gone, typing, control and
// thread-activity records are no messages.
func (b *Backfill) backfillable(m *chatsvc.Message) bool {
	if m.SkypeEditedID != "" || m.IsDeleted() {
		return false
	}
	switch m.Kind() {
	case chatsvc.KindText, chatsvc.KindMedia, chatsvc.KindCall:
		return true
	case chatsvc.KindUnknown:
		return b.UnknownAsNotices
	}
	return false
}

// Cursor is the backward backfill cursor for the page before t: t in Unix
// milliseconds, the chat service's precision.
func Cursor(t time.Time) networkid.PaginationCursor {
	return networkid.PaginationCursor(strconv.FormatInt(t.UnixMilli(), 10))
}

// ParseCursor reads a cursor that Cursor made, or an RFC 3339 time (what
// Skype's backfill stored in bridgev2's backfill queue before).
func ParseCursor(c networkid.PaginationCursor) (time.Time, error) {
	if ms, err := strconv.ParseInt(string(c), 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(c))
	if err != nil {
		return time.Time{}, fmt.Errorf("backfill cursor %q is neither milliseconds nor an RFC 3339 time", c)
	}
	return t, nil
}
