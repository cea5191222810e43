package skype

import (
	"context"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/simplevent"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Skype pushes a consumption horizon (read position) only to its owner: the
// user's own arrives as a ConversationUpdate (handleConversationUpdate), the
// other members' do not. For group threads the service lists every member's
// horizon (GET /threads/{id}/consumptionhorizons), so the bridge reads them
// for the groups the user has written in lately and turns each advance into
// the reader's ghost's Matrix read receipt. A 1:1 has no thread to ask.

// defaultReadReceiptPoll is read_receipt_poll's default.
const defaultReadReceiptPoll = 20 * time.Second

// testReadReceiptPoll, when set, overrides read_receipt_poll below its
// minimum (tests only).
var testReadReceiptPoll time.Duration

// watchReadMarkers starts the poll of the watched groups' read positions
// for as long as ctx (the login's session loop) lives; a session restart
// keeps the running poller.
func (c *Client) watchReadMarkers(ctx context.Context) {
	every := c.conn.Config.ReadReceiptPoll
	if testReadReceiptPoll > 0 {
		every = testReadReceiptPoll
	}
	go c.horizons.Poll(ctx, every, c.syncReadMarkers)
}

// watchGroup starts watching a group's read positions (the user wrote in
// it); 1:1s are not watched (no thread to read them from).
func (c *Client) watchGroup(conv string) {
	if !chatsvc.IsOneToOne(conv, nil) && !chatsvc.IsSystemFeed(conv) {
		c.horizons.Watch(conv)
	}
}

// syncReadMarkers bridges each other member's advanced read position in
// conv as their ghost's read receipt.
func (c *Client) syncReadMarkers(ctx context.Context, conv string) {
	if c.api == nil || !c.IsLoggedIn() {
		return
	}
	marks, err := c.api.ReadMarkers(ctx, conv)
	if err != nil {
		c.log.Debug().Err(err).Str("conversation", conv).Msg("Could not read the Skype group's read positions")
		return
	}
	for _, mh := range marks {
		mri := strings.ToLower(mh.MRI)
		h := mh.Horizon
		if mri == c.selfMRI() || h.MessageID == "" || h.MessageID == "0" {
			continue
		}
		target, err := c.horizonTarget(ctx, conv, h)
		if err != nil {
			c.log.Warn().Err(err).Str("conversation", conv).Msg("Cannot look up a Skype read position's message")
			continue
		}
		if target == "" || !c.horizons.Advanced(conv, mri, h.Time) {
			continue // not bridged (yet), or nothing new
		}
		evt := &simplevent.Receipt{
			EventMeta:  simplevent.EventMeta{Type: bridgev2.RemoteEventReadReceipt, PortalKey: c.portalKey(conv), Sender: c.sender(mri), Timestamp: h.Time},
			LastTarget: target,
		}
		if err := c.queue(ctx, &evt.EventMeta, evt, ""); err != nil {
			c.log.Warn().Err(err).Str("conversation", conv).Str("reader", mri).Msg("Cannot bridge a Skype read position")
		}
	}
}
