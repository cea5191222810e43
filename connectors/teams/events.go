package teams

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// handledWait bounds the wait for a queued event (portal event buffer on).
const handledWait = 60 * time.Second

// typingTimeout is how long a Teams typing indicator lasts without repeat.
const typingTimeout = 15 * time.Second

// queue hands an event to bridgev2 and reports whether it is now in Matrix
// (or was already: duplicates are ignored by message ID). With bridgev2's
// portal event buffer on, the answer is only "queued" (bridgev2 runs a
// portal's events in order, so later ones cannot overtake it); for a message
// (inMatrix given) the bridge then waits until its row is in the message
// table, because the event's PostHandleFunc runs after failures too and not
// at all when the event is dropped.
func (c *Client) queue(meta *simplevent.EventMeta, evt bridgev2.RemoteEvent, inMatrix ...func() bool) bool {
	done := make(chan struct{})
	var once sync.Once
	meta.PostHandleFunc = func(context.Context, *bridgev2.Portal) { once.Do(func() { close(done) }) }
	res := c.Login.QueueRemoteEvent(evt)
	switch {
	case res.Queued: // (bridgev2 marks queued events successful too)
		if len(inMatrix) == 0 {
			return true
		}
		check := func() bool {
			for _, f := range inMatrix {
				if !f() {
					return false
				}
			}
			return true
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(handledWait)
		for {
			select {
			case <-done:
				return check()
			case <-tick.C:
				if check() {
					return true
				}
			case <-deadline:
				c.log.Warn().Msg("A queued Teams message was not bridged in time; it will be fetched again")
				return false
			}
		}
	case res.Success || res.Ignored:
		return true
	}
	if res.Error != nil {
		c.log.Warn().Err(res.Error).Msg("bridgev2 did not bridge a Teams event")
	}
	return false
}

// messageInMatrix reports whether a message has its row in bridgev2's
// message table (or was deleted from Matrix on purpose).
func (c *Client) messageInMatrix(msgID networkid.MessageID, native string) func() bool {
	return func() bool {
		if _, gone := c.deletedHere.Load(native); gone {
			return true
		}
		m, err := c.conn.Env.Bridge.DB.Message.GetFirstPartByID(context.Background(), c.Login.ID, msgID)
		if err != nil {
			c.log.Warn().Err(err).Msg("Cannot check whether a message is in Matrix")
			return false
		}
		return m != nil
	}
}

// onPush is Trouter's OnEvent: one chat-service event, in arrival order.
func (c *Client) onPush(ctx context.Context, ev *chatsvc.EventMessage) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	switch ev.ResourceType {
	case chatsvc.ResourceNewMessage, chatsvc.ResourceMessageUpdate:
		m, err := ev.Message()
		if err != nil {
			c.log.Warn().Err(err).Str("resource", ev.ResourceType).Str("link", ev.ResourceLink).Msg("Unreadable Teams message push; its chat is fetched again")
			if conv, _ := chatsvc.ConversationFromURL(ev.ResourceLink); conv != "" {
				c.hold(conv) // the catch-up reads it from the chat's history
				c.markFailed()
			}
			return
		}
		conv, _ := m.Conversation()
		if c.heldConvs[conv] {
			// An earlier message of this chat is not in Matrix yet: the
			// retry brings this one too, in order.
			c.log.Debug().Str("conversation", conv).Str("message_id", string(m.ID)).Msg("Holding a message until the chat's retry")
			return
		}
		ok := c.handleMessage(ctx, m)
		if !ok {
			c.log.Warn().Str("conversation", conv).Str("message_id", string(m.ID)).Msg("A Teams message is not in Matrix; it will be fetched again")
			c.hold(conv)
			c.markFailed()
		} else if k := m.Kind(); !c.failed && (k == chatsvc.KindText || k == chatsvc.KindMedia || k == chatsvc.KindCall) {
			c.advance(ctx, m.Time())
		}
	case chatsvc.ResourceThreadUpdate:
		th, err := ev.Thread()
		if err != nil {
			c.log.Warn().Err(err).Msg("Dropping an unreadable thread update")
			return
		}
		c.handleThread(ctx, th)
	case chatsvc.ResourceConversationUpdate:
		// The user's own read position (read on another device).
		conv, err := ev.Conversation()
		if err != nil {
			c.log.Warn().Err(err).Msg("Dropping an unreadable conversation update")
			return
		}
		c.handleOwnHorizon(conv)
	default:
		c.log.Debug().Str("resource", ev.ResourceType).Msg("Ignoring a Teams push of an unhandled kind")
	}
}

// hold makes live pushes of conv wait for the catch-up retry (caller holds evMu).
func (c *Client) hold(conv string) {
	if c.heldConvs == nil {
		c.heldConvs = map[string]bool{}
	}
	c.heldConvs[conv] = true
}

// markFailed keeps the catch-up point where it is and schedules a retry.
func (c *Client) markFailed() {
	c.failed = true
	select {
	case c.retryTick <- struct{}{}:
	default:
	}
}

// retryLoop re-runs the catch-up after a message could not be bridged.
func (c *Client) retryLoop(ctx context.Context) {
	backoff := orDefault(c.conn.RetryBackoffMin, time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.retryTick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if c.catchUp(ctx, "retry") {
			backoff = orDefault(c.conn.RetryBackoffMin, time.Second)
		} else {
			backoff = min(backoff*2, 5*time.Minute)
		}
	}
}

// onGap is Trouter's OnGap: pushes may have been missed, fetch them.
func (c *Client) onGap(ctx context.Context, reason string) {
	c.catchUp(ctx, reason)
}

// gapFloor is where pushes were last known complete: the catch-up point
// right after the last complete REST catch-up that started at or below the
// floor. Live pushes move the catch-up point on from there, but that point
// only says the pushes which came are in Matrix: a trouter.message_loss
// notice can come after later pushes went through (even in another chat),
// so the catch-up it asks for starts back here, and so do its retries until
// one completes. A reconnect's catch-up starts at the catch-up point, so
// finishing it does not raise the floor.
//
// The floor is stored beside the catch-up point (floorStream): after a
// restart the loss notice of the new connection, or the unfinished catch-up
// of an old one, must still reach back below a push lost before the
// restart. A restart therefore also starts its first catch-up at the floor.
type gapFloor struct {
	at          time.Time
	lossPending bool
}

// floorStream is the imbridge cursor row holding the gap floor.
const floorStream = "teams-catchup-floor"

func (c *Client) floorPoint() bridgekit.CatchUpPoint {
	return bridgekit.CatchUpPoint{Cursors: c.conn.Env.DB.Cursor, Login: c.Login.ID, Stream: floorStream, Log: &c.log}
}

// raiseFloor moves the floor up to t and stores it (caller holds evMu).
func (c *Client) raiseFloor(ctx context.Context, t time.Time) {
	c.floorPoint().Advance(ctx, &c.gaps.at, t)
}

// loadFloor reads the stored floor after loadPoint (caller holds evMu). A
// login stored before floors were (none, or unreadable) starts from its
// catch-up point. A floor below the point means pushes after it were never
// confirmed by a catch-up: the first catch-up reaches back to it.
func (c *Client) loadFloor(ctx context.Context) error {
	at, err := c.floorPoint().Load(ctx, time.Hour)
	if err != nil {
		return err
	}
	if at.IsZero() || at.After(c.point) {
		at = c.point
	}
	c.gaps = gapFloor{at: at, lossPending: at.Before(c.point)}
	return nil
}

// catchUpFrom is where a catch-up for reason starts (caller holds evMu).
func (c *Client) catchUpFrom(reason string) time.Time {
	if reason == teamsapi.GapMessageLoss {
		c.gaps.lossPending = true
	}
	if c.gaps.lossPending && !c.gaps.at.IsZero() && c.gaps.at.Before(c.point) {
		return c.gaps.at
	}
	return c.point
}

// catchUp bridges everything after the catch-up point over REST and moves the
// point only when all of it is in Matrix.
func (c *Client) catchUp(ctx context.Context, reason string) bool {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	chat := c.chatClient()
	if chat == nil || c.point.IsZero() {
		return true
	}
	since := c.catchUpFrom(reason)
	log := c.log.With().Str("reason", reason).Time("since", since).Logger()
	res, err := teamsapi.CatchUp(ctx, chat, since, 50)
	if err != nil {
		log.Warn().Err(err).Msg("Teams catch-up failed; retrying")
		c.markFailed()
		return false
	}
	ok := true
	n := 0
	for _, conv := range res.Conversations {
		convOK := true
		for i := range res.Messages[conv.ID] {
			m := &res.Messages[conv.ID][i]
			c.dedupe.FirstMessage(m)
			if !c.handleMessage(ctx, m) {
				// Later messages of this chat wait for the next retry,
				// so they cannot overtake it.
				convOK = false
				break
			}
			n++
		}
		if convOK {
			delete(c.heldConvs, conv.ID)
		} else {
			c.hold(conv.ID)
			ok = false
		}
	}
	log.Debug().Int("messages", n).Bool("complete", ok).Msg("Teams catch-up done")
	if !ok {
		c.markFailed()
		return false
	}
	c.failed = false
	c.advance(ctx, res.Newest)
	if c.gaps.at.IsZero() || !since.After(c.gaps.at) {
		// Everything from the floor on is in Matrix now.
		c.raiseFloor(ctx, c.point)
		c.gaps.lossPending = false
	}
	return true
}

// initialSync runs on a login's first connection: the recent chats get rooms
// (bridgev2 backfills them through FetchMessages), and the catch-up point
// starts now.
func (c *Client) initialSync(ctx context.Context) error {
	start := time.Now()
	convs, err := c.chatClient().AllConversations(ctx, chatsvc.ConversationsQuery{}, c.conn.Config.InitialChats+10)
	if err != nil {
		return err
	}
	created := 0
	for i := range convs {
		conv := &convs[i]
		// A team's root (space) thread is its General channel and gets a
		// room; the team's Matrix space comes with its channels' rooms.
		if conv.IsSystemFeed() || conv.ThreadType() == "streamofnotes" {
			continue
		}
		if created >= c.conn.Config.InitialChats {
			break
		}
		created++
		var latest time.Time
		if conv.LastMessage != nil {
			latest = conv.LastMessage.Time()
		}
		evt := c.resyncEvent(conv.ID, latest)
		c.queue(&evt.EventMeta, evt)
	}
	c.evMu.Lock()
	c.advance(ctx, start.Add(-time.Second))
	c.raiseFloor(ctx, c.point)
	c.evMu.Unlock()
	return nil
}

func (c *Client) resyncEvent(conv string, latest time.Time) *simplevent.ChatResync {
	return &simplevent.ChatResync{
		EventMeta: simplevent.EventMeta{
			Type: bridgev2.RemoteEventChatResync, PortalKey: c.portalKey(conv), CreatePortal: true,
			LogContext: func(z zerolog.Context) zerolog.Context { return z.Str("conversation", conv) },
		},
		LatestMessageTS: latest,
		GetChatInfoFunc: func(ctx context.Context, portal *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
			return c.GetChatInfo(ctx, portal)
		},
	}
}

func (c *Client) sender(mri string) bridgev2.EventSender {
	if isSelf(mri, c.meta.MRI) {
		return bridgev2.EventSender{IsFromMe: true, SenderLogin: c.Login.ID, Sender: c.selfGhost()}
	}
	return bridgev2.EventSender{Sender: ids.UserID(ids.Teams, mri)}
}

// handleMessage bridges one state of a message (new, edited, deleted,
// reacted) and reports whether Matrix now shows it.
func (c *Client) handleMessage(ctx context.Context, m *chatsvc.Message) bool {
	conv, _ := m.Conversation()
	if conv == "" {
		c.log.Warn().Str("message", string(m.ID)).Msg("Dropping a Teams message without a conversation")
		return true
	}
	if chatsvc.IsSystemFeed(conv) {
		c.log.Debug().Str("conversation", conv).Msg("Not bridging a system feed message")
		return true
	}
	from := m.Sender()
	key := c.portalKey(conv)
	logCtx := func(z zerolog.Context) zerolog.Context {
		return z.Str("conversation", conv).Str("message_id", string(m.ID)).Str("sender", from)
	}
	switch m.Kind() {
	case chatsvc.KindTyping, chatsvc.KindClearTyping:
		if isSelf(from, c.meta.MRI) {
			return true
		}
		timeout := typingTimeout
		if m.Kind() == chatsvc.KindClearTyping {
			timeout = 0
		}
		meta := simplevent.EventMeta{Type: bridgev2.RemoteEventTyping, PortalKey: key, Sender: c.sender(from), LogContext: logCtx}
		c.queue(&meta, &simplevent.Typing{EventMeta: meta, Timeout: timeout, Type: bridgev2.TypingTypeText})
		return true
	case chatsvc.KindThreadActivity:
		// Members, topic, roles: read the whole thread again, which is
		// right whatever the activity's own markup says.
		evt := c.resyncEvent(conv, time.Time{})
		evt.CreatePortal = false
		return c.queue(&evt.EventMeta, evt)
	case chatsvc.KindControl: // an unknown kind goes on, to become a notice (convert.go)
		c.log.Debug().Str("type", m.MessageType).Str("conversation", conv).Msg("Control message not bridged")
		return true
	}
	msgID := ids.MessageID(ids.Teams, string(m.ID))
	ts := m.Time()
	if m.IsDeleted() {
		meta := simplevent.EventMeta{Type: bridgev2.RemoteEventMessageRemove, PortalKey: key, Sender: c.sender(from), Timestamp: m.DeleteTime(), LogContext: logCtx}
		return c.queue(&meta, &simplevent.MessageRemove{EventMeta: meta, TargetMessage: msgID})
	}
	var txn networkid.TransactionID
	if isSelf(from, c.meta.MRI) && m.ClientMessageID != "" {
		txn = networkid.TransactionID(m.ClientMessageID)
		// A send this run is not sending (one that failed, or one an
		// earlier run left) is settled from its note (sent.go).
		if c.settleOwn(ctx, m) {
			return true
		}
	}
	meta := simplevent.EventMeta{Type: bridgev2.RemoteEventMessageUpsert, PortalKey: key, Sender: c.sender(from),
		CreatePortal: true, Timestamp: ts, LogContext: logCtx}
	evt := &simplevent.Message[*chatsvc.Message]{
		EventMeta: meta, ID: msgID, TransactionID: txn, Data: m,
		ConvertMessageFunc: c.convertMessage,
		HandleExistingFunc: c.handleExisting,
	}
	// A message that is not in the table yet may still be in the room from
	// an attempt whose answer was lost (replay.go).
	guarded := false
	if row, err := c.conn.Env.Bridge.DB.Message.GetFirstPartByID(ctx, c.Login.ID, msgID); err == nil && row == nil {
		guarded = true
		if c.markInflight(ctx, string(m.ID)) {
			c.adoptFromRoom(ctx, key, msgID, string(m.ID), meta.Sender.Sender)
		}
	}
	if !c.queue(&evt.EventMeta, evt, c.messageInMatrix(msgID, string(m.ID))) {
		return false
	}
	if guarded {
		c.clearInflight(ctx, string(m.ID))
	}
	if m.Properties.Has("emotions") {
		return c.syncReactions(m, key, msgID)
	}
	return true
}

// handleExisting runs for a message already in Matrix: an edit newer than the
// bridged one becomes a Matrix edit; anything else is a repeat.
func (c *Client) handleExisting(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, existing []*database.Message, m *chatsvc.Message) (bridgev2.UpsertResult, error) {
	edit := m.EditTime()
	if edit.IsZero() || len(existing) == 0 {
		return bridgev2.UpsertResult{}, nil
	}
	mm, err := messageMeta.Get(existing[0].Metadata)
	if err != nil {
		return bridgev2.UpsertResult{}, err
	}
	if edit.UnixMilli() <= mm.EditTime {
		return bridgev2.UpsertResult{}, nil
	}
	meta := simplevent.EventMeta{Type: bridgev2.RemoteEventEdit, PortalKey: portal.PortalKey, Sender: c.sender(m.Sender()), Timestamp: edit}
	sub := &simplevent.Message[*chatsvc.Message]{
		EventMeta: meta, TargetMessage: existing[0].ID, Data: m,
		ConvertEditFunc: c.convertEdit,
	}
	return bridgev2.UpsertResult{SubEvents: []bridgev2.RemoteEvent{sub}}, nil
}

// syncReactions makes the message's Matrix reactions the Teams ones.
func (c *Client) syncReactions(m *chatsvc.Message, key networkid.PortalKey, msgID networkid.MessageID) bool {
	emotions, err := m.Emotions()
	if err != nil {
		c.log.Warn().Err(err).Str("message_id", string(m.ID)).Msg("Unreadable reactions; not syncing them")
		return true
	}
	data := &bridgev2.ReactionSyncData{Users: map[networkid.UserID]*bridgev2.ReactionSyncUser{}, HasAllUsers: true}
	for _, e := range emotions {
		emoji := reactionEmoji(e.Key)
		for _, u := range e.Users {
			uid := ids.UserID(ids.Teams, u.MRI)
			ru := data.Users[uid]
			if ru == nil {
				ru = &bridgev2.ReactionSyncUser{HasAllReactions: true}
				data.Users[uid] = ru
			}
			ts := time.UnixMilli(u.Time.Int())
			ru.Reactions = append(ru.Reactions, &bridgev2.BackfillReaction{
				Timestamp: ts, Sender: c.sender(u.MRI), EmojiID: networkid.EmojiID(e.Key), Emoji: emoji,
			})
		}
	}
	meta := simplevent.EventMeta{Type: bridgev2.RemoteEventReactionSync, PortalKey: key,
		LogContext: func(z zerolog.Context) zerolog.Context { return z.Str("message_id", string(m.ID)) }}
	return c.queue(&meta, &simplevent.ReactionSync{EventMeta: meta, TargetMessage: msgID, Reactions: data})
}

// handleThread syncs a thread's members and topic.
func (c *Client) handleThread(ctx context.Context, th *chatsvc.Thread) {
	if th.ID == "" || chatsvc.IsSystemFeed(th.ID) {
		return
	}
	// The pushed thread can predate the change it announces (a removed
	// member is still listed), so the current thread is read over REST.
	evt := c.resyncEvent(th.ID, time.Time{})
	evt.CreatePortal = false
	if !c.queue(&evt.EventMeta, evt) {
		c.log.Warn().Str("conversation", th.ID).Msg("Thread update not bridged")
	}
	if strings.EqualFold(th.Properties.Get("threadType"), "space") {
		// The team's root thread also carries the team's name and
		// members: its Matrix space follows.
		space := c.resyncEvent(teamSpacePrefix+th.ID, time.Time{})
		space.CreatePortal = false
		space.PortalKey = c.teamSpaceKey(th.ID)
		if !c.queue(&space.EventMeta, space) {
			c.log.Warn().Str("team", th.ID).Msg("Team space update not bridged")
		}
	}
}

// teamSpaceKey is the portal key bridgev2 gives a team's space, which it
// creates as the parent of the team's channel rooms: without a receiver
// unless portals are split per login.
func (c *Client) teamSpaceKey(team string) networkid.PortalKey {
	key := networkid.PortalKey{ID: teamSpaceID(team)}
	if c.conn.Env.Bridge.Config.SplitPortals {
		key.Receiver = c.Login.ID
	}
	return key
}
