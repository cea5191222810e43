package skype

import (
	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/connectors/chatbridge"
	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// newBackfill serves bridgev2's backfill (FetchMessages, through the
// Client's embedded chatbridge.Backfill) from Skype's history: forward (a
// new portal, or what came after the newest bridged message) and backward
// (older pages).
func (c *Client) newBackfill() chatbridge.Backfill {
	return chatbridge.Backfill{
		Client: &c.ClientBase, Log: &c.log,
		Source: func() chatbridge.History {
			if c.api == nil { // the stored credentials could not be opened
				return nil
			}
			return c.api
		},
		// Live, unknown message types become notices (convert.go).
		UnknownAsNotices: true,
		Sender:           c.sender, Convert: c.convertMessage,
		NewMetadata: func(m *chatsvc.Message) any { return messageMeta.Wrap(&MessageMetadata{ServerID: string(m.ID)}) },
		Fill: func(conv string, m *chatsvc.Message, bm *bridgev2.BackfillMessage) {
			bm.ID = msgID(conv, string(m.ClientMessageID), string(m.ID))
			bm.StreamOrder = m.ID.Int()
		},
	}
}
