package skypeapi

import (
	"context"
	"fmt"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// ConversationBacklog is what arrived in one conversation while events
// were not flowing.
type ConversationBacklog struct {
	Conversation chatsvc.Conversation
	// Messages are oldest first, including edit/delete records and thread
	// activity; the caller de-duplicates against what it already bridged
	// (by message id, and skypeeditedid for edits).
	Messages []chatsvc.Message
}

// CatchUp fetches everything that changed after since (§5.5 of the notes:
// the conversation list with startTime, then each changed conversation's
// messages). Run it from Handler.HandleGap and after a restart, with the
// arrival time of the last message bridged.
func (c *Client) CatchUp(ctx context.Context, since time.Time) ([]ConversationBacklog, error) {
	convs, err := c.AllConversations(ctx, since, 0)
	if err != nil {
		return nil, fmt.Errorf("catch up: %w", err)
	}
	var out []ConversationBacklog
	for _, conv := range convs {
		if chatsvc.IsSystemFeed(conv.ID) {
			continue
		}
		if conv.LastMessage != nil && !since.IsZero() && !conv.LastMessage.Time().After(since) && conv.LastMessage.VersionInt() <= since.UnixMilli() {
			continue // listed for another change (e.g. the read marker)
		}
		msgs, err := c.MessagesSince(ctx, conv.ID, since)
		if err != nil {
			return out, fmt.Errorf("catch up %s: %w", conv.ID, err)
		}
		if len(msgs) > 0 {
			out = append(out, ConversationBacklog{Conversation: conv, Messages: msgs})
		}
	}
	return out, nil
}
