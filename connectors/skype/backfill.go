package skype

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// FetchMessages serves bridgev2's backfill from Skype's history: forward
// (a new portal, or what came after the newest bridged message) and
// backward (older pages, the cursor being the oldest time served).
func (c *Client) FetchMessages(ctx context.Context, params bridgev2.FetchMessagesParams) (*bridgev2.FetchMessagesResponse, error) {
	if err := c.CheckPortal(params.Portal); err != nil {
		return nil, err
	}
	if c.api == nil {
		return nil, fmt.Errorf("not connected to Skype")
	}
	conv := native(params.Portal)
	count := max(params.Count, 1)
	var msgs []chatsvc.Message
	var err error
	switch {
	case params.Forward && params.AnchorMessage != nil:
		msgs, err = c.api.MessagesSince(ctx, conv, params.AnchorMessage.Timestamp.Add(-gapSlack))
	case params.Forward:
		msgs, err = c.api.History(ctx, conv, time.Time{}, count)
	default:
		before := time.Time{}
		if params.Cursor != "" {
			before, _ = time.Parse(time.RFC3339Nano, string(params.Cursor))
		} else if params.AnchorMessage != nil {
			before = params.AnchorMessage.Timestamp
		}
		msgs, err = c.api.History(ctx, conv, before, count)
	}
	if err != nil {
		return nil, fmt.Errorf("read Skype history of %s: %w", conv, err)
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Time().Before(msgs[j].Time()) })
	if len(msgs) > count {
		if params.Forward {
			msgs = msgs[len(msgs)-count:]
		} else {
			msgs = msgs[:count]
		}
	}
	resp := &bridgev2.FetchMessagesResponse{Forward: params.Forward, HasMore: !params.Forward && len(msgs) >= count}
	for i := range msgs {
		m := &msgs[i]
		if !backfillable(m) {
			continue
		}
		from := strings.ToLower(m.Sender())
		sender := c.sender(from)
		intent, ok := params.Portal.GetIntentFor(ctx, sender, c.Login, bridgev2.RemoteEventMessage)
		if !ok {
			return nil, fmt.Errorf("no Matrix user for %s", from)
		}
		conv, err := c.convertMessage(ctx, params.Portal, intent, m)
		if err != nil {
			return nil, fmt.Errorf("convert Skype message %s: %w", m.ID, err)
		}
		resp.Messages = append(resp.Messages, &bridgev2.BackfillMessage{
			ConvertedMessage: conv, Sender: sender, ID: msgID(native(params.Portal), string(m.ClientMessageID), string(m.ID)),
			Timestamp: m.Time(), StreamOrder: m.ID.Int(),
		})
	}
	if len(msgs) > 0 && !params.Forward {
		resp.Cursor = networkidCursor(msgs[0].Time())
	}
	return resp, nil
}

// backfillable says whether a history entry is a message of its own:
// edit records are already folded into the original's content, deleted
// messages are gone, typing and control records are no messages.
func backfillable(m *chatsvc.Message) bool {
	if m.SkypeEditedID != "" || m.IsDeleted() || m.Properties.Has("deletetime") {
		return false
	}
	switch m.Kind() {
	case chatsvc.KindText, chatsvc.KindMedia, chatsvc.KindCall, chatsvc.KindUnknown:
		return true
	}
	return false
}

func networkidCursor(t time.Time) networkid.PaginationCursor {
	return networkid.PaginationCursor(t.UTC().Format(time.RFC3339Nano))
}
