package teams

import (
	"context"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatbridge"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// newBackfill serves bridgev2's backfill (FetchMessages, through the
// Client's embedded chatbridge.Backfill) from the chat service's history:
// the initial history of a new room (capped by initial_messages), what came
// after the newest bridged message, and older pages when scrolling back.
func (c *Client) newBackfill() chatbridge.Backfill {
	return chatbridge.Backfill{
		Client: &c.ClientBase, Log: &c.log, InitialMessages: c.conn.Config.InitialMessages,
		// Backfill runs during the first sync, before the push channel is up.
		Source: func() chatbridge.History {
			if chat := c.chatClient(); chat != nil {
				return history{chat}
			}
			return nil
		},
		Sender: c.sender, Convert: c.convertMessage,
		NewMetadata: func(m *chatsvc.Message) any {
			return messageMeta.Wrap(&MessageMetadata{ClientMessageID: string(m.ClientMessageID)})
		},
		Fill: func(conv string, m *chatsvc.Message, bm *bridgev2.BackfillMessage) {
			bm.ID = ids.MessageID(ids.Teams, string(m.ID))
			bm.TxnID = networkid.TransactionID(m.ClientMessageID)
			bm.Reactions = c.backfillReactions(m)
		},
	}
}

// backfillReactions are the reactions a history message carries.
func (c *Client) backfillReactions(m *chatsvc.Message) []*bridgev2.BackfillReaction {
	if !m.Properties.Has("emotions") {
		return nil
	}
	emotions, err := m.Emotions()
	if err != nil {
		c.log.Warn().Err(err).Str("message_id", string(m.ID)).Msg("Backfill: unreadable reactions left out")
		return nil
	}
	var out []*bridgev2.BackfillReaction
	for _, e := range emotions {
		for _, u := range e.Users {
			out = append(out, &bridgev2.BackfillReaction{Sender: c.sender(u.MRI),
				EmojiID: networkid.EmojiID(e.Key), Emoji: reactionEmoji(e.Key), Timestamp: time.UnixMilli(u.Time.Int())})
		}
	}
	return out
}

// history is the chat service read the way backfill reads it.
type history struct{ *chatsvc.Client }

// MessagesSince reads what came after since in pages of 50.
func (h history) MessagesSince(ctx context.Context, conv string, since time.Time) ([]chatsvc.Message, error) {
	return h.Client.MessagesSince(ctx, conv, since, 50)
}
