package teams

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// FetchMessages serves bridgev2's backfill: the initial history of a new
// room (forward, capped by initial_messages) and older pages when scrolling
// back (backward from the oldest bridged message).
func (c *Client) FetchMessages(ctx context.Context, params bridgev2.FetchMessagesParams) (*bridgev2.FetchMessagesResponse, error) {
	if err := c.CheckPortal(params.Portal); err != nil {
		return nil, err
	}
	// Backfill runs during the first sync, before the push channel is up.
	chat := c.chatClient()
	if chat == nil {
		return nil, bridgev2.ErrNotLoggedIn
	}
	var err error
	conv := native(params.Portal)
	count := params.Count
	if params.Forward && params.AnchorMessage == nil && c.conn.Config.InitialMessages > 0 {
		count = min(count, c.conn.Config.InitialMessages)
	}
	if count <= 0 {
		count = 50
	}
	var before time.Time
	if params.Cursor != "" {
		ms, err := strconv.ParseInt(string(params.Cursor), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("backfill cursor %q: %w", params.Cursor, err)
		}
		before = time.UnixMilli(ms)
	} else if !params.Forward && params.AnchorMessage != nil {
		before = params.AnchorMessage.Timestamp
	}
	var msgs []chatsvc.Message
	if params.Forward && params.AnchorMessage != nil {
		msgs, err = chat.MessagesSince(ctx, conv, params.AnchorMessage.Timestamp, 50)
		// MessagesSince is oldest first; keep it that way below.
		reverse(msgs)
	} else {
		msgs, err = chat.History(ctx, conv, before, count)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch history of %s: %w", conv, err)
	}
	resp := &bridgev2.FetchMessagesResponse{Forward: params.Forward, HasMore: len(msgs) >= count && !params.Forward}
	// msgs is newest first; bridgev2 wants oldest first.
	var oldest time.Time
	for i := len(msgs) - 1; i >= 0; i-- {
		m := &msgs[i]
		if oldest.IsZero() || m.Time().Before(oldest) {
			oldest = m.Time()
		}
		if k := m.Kind(); (k != chatsvc.KindText && k != chatsvc.KindMedia) || m.IsDeleted() {
			continue
		}
		cm, err := c.convertMessage(ctx, params.Portal, c.intentFor(ctx, params.Portal, m.Sender()), m)
		if err != nil {
			c.log.Warn().Err(err).Str("message_id", string(m.ID)).Msg("Backfill: message not converted")
			continue
		}
		bm := &bridgev2.BackfillMessage{
			ConvertedMessage: cm, Sender: c.sender(m.Sender()), ID: ids.MessageID(ids.Teams, string(m.ID)),
			TxnID: networkid.TransactionID(m.ClientMessageID), Timestamp: m.Time(),
		}
		if m.Properties.Has("emotions") {
			if em, err := m.Emotions(); err == nil {
				for _, e := range em {
					for _, u := range e.Users {
						bm.Reactions = append(bm.Reactions, &bridgev2.BackfillReaction{Sender: c.sender(u.MRI),
							EmojiID: networkid.EmojiID(e.Key), Emoji: reactionEmoji(e.Key), Timestamp: time.UnixMilli(u.Time.Int())})
					}
				}
			}
		}
		resp.Messages = append(resp.Messages, bm)
	}
	if !oldest.IsZero() {
		resp.Cursor = networkid.PaginationCursor(strconv.FormatInt(oldest.UnixMilli(), 10))
	}
	return resp, nil
}

func (c *Client) intentFor(ctx context.Context, portal *bridgev2.Portal, mri string) bridgev2.MatrixAPI {
	intent, ok := portal.GetIntentFor(ctx, c.sender(mri), c.Login, bridgev2.RemoteEventBackfill)
	if !ok {
		return c.conn.Env.Bridge.Bot
	}
	return intent
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
