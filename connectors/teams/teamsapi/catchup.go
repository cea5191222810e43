package teamsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// CatchUpResult is what changed since a point in time.
type CatchUpResult struct {
	// Conversations changed since (system feeds excluded), newest first.
	Conversations []chatsvc.Conversation
	// Messages per conversation id, oldest first (new messages and new
	// versions of older ones: edits, deletions, reactions).
	Messages map[string][]chatsvc.Message
	// Newest is the latest arrival/version seen, the next catch-up point
	// once everything here is handled.
	Newest time.Time
}

// CatchUp fetches everything that changed after since over REST — the
// recovery after a Trouter reconnect or a message_loss notice, since Trouter
// has no replay. Typing and other control messages are left out.
func CatchUp(ctx context.Context, chat *chatsvc.Client, since time.Time, pageSize int) (*CatchUpResult, error) {
	convs, err := chat.AllConversations(ctx, chatsvc.ConversationsQuery{StartTime: since}, 0)
	if err != nil {
		return nil, fmt.Errorf("catch up: %w", err)
	}
	res := &CatchUpResult{Messages: map[string][]chatsvc.Message{}, Newest: since}
	for _, c := range convs {
		if c.IsSystemFeed() {
			continue
		}
		res.Conversations = append(res.Conversations, c)
		msgs, err := chat.MessagesSince(ctx, c.ID, since, pageSize)
		if err != nil {
			return nil, fmt.Errorf("catch up %s: %w", c.ID, err)
		}
		kept := msgs[:0]
		for _, m := range msgs {
			k := m.Kind()
			if k == chatsvc.KindTyping || k == chatsvc.KindClearTyping || k == chatsvc.KindControl {
				continue
			}
			kept = append(kept, m)
			if t := time.UnixMilli(max(m.ID.Int(), m.VersionInt())); t.After(res.Newest) {
				res.Newest = t
			}
		}
		if len(kept) > 0 {
			res.Messages[c.ID] = kept
		}
	}
	return res, nil
}
