package skype

import (
	"context"
	"strings"
	"sync"
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

// horizonPoll is how often the watched groups' read positions are read
// (a variable so tests can shorten it).
var horizonPoll = 20 * time.Second

// horizonWatch is how long after the user's last message a group's read
// positions are watched: people read an answer within minutes, and polling
// every group forever would cost a request per group per poll.
const horizonWatch = 15 * time.Minute

// horizonWatcher remembers which groups to poll and what was bridged.
type horizonWatcher struct {
	mu      sync.Mutex
	running context.Context                 // the session loop whose poller runs, if any
	watched map[string]time.Time            // conversation → watch until
	seen    map[string]map[string]time.Time // conversation → MRI → read time bridged
}

func (w *horizonWatcher) watch(conv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched == nil {
		w.watched = map[string]time.Time{}
	}
	w.watched[conv] = time.Now().Add(horizonWatch)
}

func (w *horizonWatcher) due() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	now := time.Now()
	for conv, until := range w.watched {
		if now.After(until) {
			delete(w.watched, conv)
			continue
		}
		out = append(out, conv)
	}
	return out
}

// advanced reports whether mri's read time in conv moved past what was
// bridged, and remembers it.
func (w *horizonWatcher) advanced(conv, mri string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]map[string]time.Time{}
	}
	m := w.seen[conv]
	if m == nil {
		m = map[string]time.Time{}
		w.seen[conv] = m
	}
	if !t.After(m[mri]) {
		return false
	}
	m[mri] = t
	return true
}

// start reports whether a poller for ctx should be started: none runs, or
// the one running belongs to an ended session loop (a quick reconnect).
func (w *horizonWatcher) start(ctx context.Context) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running != nil && w.running.Err() == nil {
		return false
	}
	w.running = ctx
	return true
}

func (w *horizonWatcher) stopped(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running == ctx {
		w.running = nil
	}
}

// watchReadMarkers starts the poll of the watched groups' read positions
// for as long as ctx (the login's session loop) lives; a session restart
// keeps the running poller.
func (c *Client) watchReadMarkers(ctx context.Context) {
	if !c.horizons.start(ctx) {
		return
	}
	go func() {
		defer c.horizons.stopped(ctx)
		tick := time.NewTicker(horizonPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, conv := range c.horizons.due() {
				c.syncReadMarkers(ctx, conv)
			}
		}
	}()
}

// watchGroup starts watching a group's read positions (the user wrote in
// it); 1:1s are not watched (no thread to read them from).
func (c *Client) watchGroup(conv string) {
	if !chatsvc.IsOneToOne(conv, nil) && !chatsvc.IsSystemFeed(conv) {
		c.horizons.watch(conv)
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
		if target == "" || !c.horizons.advanced(conv, mri, h.Time) {
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
