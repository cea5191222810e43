package skype

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/metrics"
)

// Events reach Matrix through bridgev2's portal queue. HandleEvent returns
// nil only once the event is in Matrix (or deliberately skipped with a
// warn log line); an error leaves the Skype event un-acked, so the service
// delivers it again (skypeapi.Listen), and keeps the arrival cursor where
// it was, so a restart catches up from before it.

// handledWait bounds the wait for a queued event (portal event buffer on).
const handledWait = 2 * time.Minute

// typingTimeout is how long a Skype typing indicator lasts without repeat.
const typingTimeout = 8 * time.Second

// queue hands an event to bridgev2 and returns an error unless it was
// handled. A message event is checked against the message table when the
// portal queue handled it asynchronously.
func (c *Client) queue(ctx context.Context, meta *simplevent.EventMeta, evt bridgev2.RemoteEvent, mustExist networkid.MessageID) error {
	return c.queueChecked(ctx, meta, evt, mustExist, nil)
}

// queueChecked is queue with a check run before each retry: true means an
// earlier attempt made it after all (its answer was lost), so no retry.
func (c *Client) queueChecked(ctx context.Context, meta *simplevent.EventMeta, evt bridgev2.RemoteEvent, mustExist networkid.MessageID, arrived func() bool) error {
	// A few quick retries keep the conversation in order through a short
	// homeserver hiccup; after them the event is left un-acked, and Skype
	// delivers it (and what follows) again.
	backoff := orDefault(c.conn.RetryBackoffMin, 500*time.Millisecond)
	var err error
	for attempt := 1; ; attempt++ {
		if err = c.queueOnce(ctx, meta, evt, mustExist); err == nil || attempt == queueAttempts || ctx.Err() != nil {
			return err
		}
		c.log.Warn().Err(err).Int("attempt", attempt).Msg("Bridging a Skype event failed; retrying")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
		if arrived != nil && arrived() {
			return nil
		}
	}
}

// queueAttempts is how often queue tries an event before giving it back.
const queueAttempts = 3

func (c *Client) queueOnce(ctx context.Context, meta *simplevent.EventMeta, evt bridgev2.RemoteEvent, mustExist networkid.MessageID) error {
	if skip, err := c.portalMissing(ctx, evt); err != nil || skip {
		return err
	}
	done := make(chan struct{})
	var once sync.Once
	meta.PostHandleFunc = func(context.Context, *bridgev2.Portal) { once.Do(func() { close(done) }) }
	res := c.Login.QueueRemoteEvent(evt)
	if !res.Success {
		if res.Error != nil {
			return fmt.Errorf("bridge %s: %w", evt.GetType(), res.Error)
		}
		return fmt.Errorf("bridgev2 did not bridge a %s event", evt.GetType())
	}
	if !res.Queued {
		return nil
	}
	select {
	case <-done:
	case <-time.After(handledWait):
		return fmt.Errorf("bridgev2 did not handle a %s event within %s", evt.GetType(), handledWait)
	case <-ctx.Done():
		return ctx.Err()
	}
	if mustExist != "" {
		part, err := c.conn.Env.Bridge.DB.Message.GetFirstPartByID(ctx, c.Login.ID, mustExist)
		if err != nil {
			return fmt.Errorf("check that %s reached Matrix: %w", mustExist, err)
		}
		if part == nil {
			return fmt.Errorf("message %s did not reach Matrix", mustExist)
		}
	}
	return nil
}

// portalMissing reports whether bridgev2 would drop evt because its portal
// has no room and the event cannot create one. bridgev2 drops such an event
// without running its post-handle hook, so queueOnce would wait for it in
// vain (two minutes, holding up every event after it); an update of a chat
// that is not bridged has nothing to update, so it is skipped here.
func (c *Client) portalMissing(ctx context.Context, evt bridgev2.RemoteEvent) (bool, error) {
	br := c.conn.Env.Bridge
	key := evt.GetPortalKey()
	creates := false
	if mcp, ok := evt.(bridgev2.RemoteEventThatMayCreatePortal); ok && mcp.ShouldCreatePortal() {
		creates = br.Config.PortalCreateFilter.ShouldAllow(c.Login.ID, key)
	}
	if creates {
		return false, nil
	}
	portal, err := br.GetExistingPortalByKey(ctx, key)
	if err != nil {
		return false, fmt.Errorf("look up the portal of a %s event: %w", evt.GetType(), err)
	}
	if portal == nil || portal.MXID == "" {
		c.log.Debug().Str("portal_id", string(key.ID)).Stringer("event_type", evt.GetType()).
			Msg("Skipping a Skype update of a chat that has no portal")
		return true, nil
	}
	return false, nil
}

// HandleEvent is skypeapi.Handler: one event of the long poll.
func (c *Client) HandleEvent(ctx context.Context, ev *chatsvc.EventMessage) error {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	switch ev.ResourceType {
	case chatsvc.ResourceNewMessage, chatsvc.ResourceMessageUpdate:
		m, err := ev.Message()
		if err != nil {
			if m, err = c.messageFromLink(ctx, ev, err); m == nil {
				return err
			}
		}
		return c.handleMessage(ctx, m, true)
	case chatsvc.ResourceConversationUpdate:
		conv, err := ev.Conversation()
		if err != nil {
			c.log.Warn().Err(err).Msg("Dropping an unreadable Skype conversation update")
			return nil
		}
		return c.handleConversationUpdate(ctx, conv)
	case chatsvc.ResourceThreadUpdate:
		th, err := ev.Thread()
		if err != nil {
			c.log.Warn().Err(err).Msg("Dropping an unreadable Skype thread update")
			return nil
		}
		return c.handleThreadUpdate(ctx, th)
	case chatsvc.ResourceUserPresence, chatsvc.ResourceEndpointPresence:
		// Matrix has no presence for ghosts through the bridge API.
		return nil
	}
	c.log.Debug().Str("resource_type", ev.ResourceType).Msg("Ignoring a Skype event of an unhandled kind")
	return nil
}

func (c *Client) sender(mri string) bridgev2.EventSender {
	mri = strings.ToLower(mri)
	if mri == c.selfMRI() {
		return bridgev2.EventSender{IsFromMe: true, SenderLogin: c.Login.ID, Sender: ghostID(mri)}
	}
	return bridgev2.EventSender{Sender: ghostID(mri)}
}

// handleMessage bridges one message object (live event or catch-up).
func (c *Client) handleMessage(ctx context.Context, m *chatsvc.Message, live bool) error {
	conv, _ := m.Conversation()
	if conv == "" {
		c.log.Warn().Str("id", string(m.ID)).Msg("Dropping a Skype message without a conversation")
		return nil
	}
	if chatsvc.IsSystemFeed(conv) {
		return nil
	}
	from := strings.ToLower(m.Sender())
	key := c.portalKey(conv)
	switch m.Kind() {
	case chatsvc.KindTyping, chatsvc.KindClearTyping:
		if !live || from == c.selfMRI() {
			return nil
		}
		typ := &simplevent.Typing{EventMeta: simplevent.EventMeta{Type: bridgev2.RemoteEventTyping, PortalKey: key, Sender: c.sender(from)}}
		if m.Kind() == chatsvc.KindTyping {
			typ.Timeout = typingTimeout
		}
		c.Login.QueueRemoteEvent(typ) // best effort: a lost typing notice harms nobody
		return nil
	case chatsvc.KindThreadActivity:
		return c.advanceAfter(ctx, m, c.handleActivity(ctx, conv, m))
	case chatsvc.KindControl:
		c.log.Debug().Str("type", m.MessageType).Msg("Ignoring a Skype control message")
		return nil
	}
	if m.SkypeEditedID != "" {
		return c.advanceAfter(ctx, m, c.handleEdit(ctx, conv, from, m))
	}
	id := msgID(conv, string(m.ClientMessageID), string(m.ID))
	if !live {
		// History shows a message as it is now: edited or deleted while
		// the bridge was away, it carries edittime/deletetime instead of
		// the edit records the event stream would have had.
		if done, err := c.syncFromHistory(ctx, conv, from, id, m); err != nil || done {
			return c.advanceAfter(ctx, m, err)
		}
	} else if m.Properties.Has("deletetime") {
		return c.advanceAfter(ctx, m, nil)
	}
	if from == c.selfMRI() {
		// Also live: an endpoint may deliver an earlier run's echo.
		if adopted, err := c.adoptSent(ctx, conv, m); err != nil || adopted {
			return c.advanceAfter(ctx, m, err)
		}
	}
	msg := c.remoteMessage(conv, from, id, m)
	meta := msg.EventMeta
	received := time.Now()
	arrived := func() bool { return c.adoptFromRoom(ctx, key, meta.Sender.Sender, id) }
	if c.markInflight(ctx, id) && arrived() {
		c.clearInflight(ctx, id)
		return c.advanceAfter(ctx, m, nil)
	}
	err := c.queueChecked(ctx, &msg.EventMeta, msg, id, arrived)
	if err == nil {
		c.clearInflight(ctx, id)
	}
	if err == nil && live {
		c.conn.Env.Metrics.MessageBridged(string(ids.Skype), metrics.ToMatrix, time.Since(received))
	}
	return c.advanceAfter(ctx, m, err)
}

// remoteMessage is the bridgev2 event of a Skype message.
func (c *Client) remoteMessage(conv, from string, id networkid.MessageID, m *chatsvc.Message) *simplevent.Message[*chatsvc.Message] {
	return &simplevent.Message[*chatsvc.Message]{
		EventMeta: simplevent.EventMeta{
			Type: bridgev2.RemoteEventMessage, PortalKey: c.portalKey(conv), CreatePortal: true, Timestamp: m.Time(),
			Sender: c.sender(from), StreamOrder: m.ID.Int(),
		},
		ID: id, Data: m,
		// The echo of a message sent from Matrix carries the
		// clientmessageid the send used: bridgev2 matches it to the pending
		// message instead of bridging it again.
		TransactionID:      networkid.TransactionID(m.ClientMessageID),
		ConvertMessageFunc: c.convertMessage,
	}
}

// syncFromHistory brings a bridged message up to date with its history
// entry (an edit or delete missed while away) and reports whether the
// entry is dealt with; a message that is not bridged yet is not, unless
// it is deleted (nothing to show).
func (c *Client) syncFromHistory(ctx context.Context, conv, from string, id networkid.MessageID, m *chatsvc.Message) (bool, error) {
	deleted := m.Properties.Has("deletetime")
	part, err := c.existing(ctx, id)
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", id, err)
	}
	if part == nil {
		return deleted, nil
	}
	meta := simplevent.EventMeta{PortalKey: c.portalKey(conv), Sender: c.sender(from), Timestamp: m.Time(), StreamOrder: m.VersionInt()}
	switch {
	case deleted:
		meta.Type = bridgev2.RemoteEventMessageRemove
		rm := &simplevent.MessageRemove{EventMeta: meta, TargetMessage: id}
		return true, c.queue(ctx, &rm.EventMeta, rm, "")
	case m.Properties.Has("edittime"):
		pm, err := messageMeta.Get(part.Metadata)
		if err != nil {
			return true, err
		}
		if m.VersionInt() <= pm.LastEditID {
			return true, nil // this edit is bridged already
		}
		meta.Type = bridgev2.RemoteEventEdit
		ed := &simplevent.Message[*chatsvc.Message]{EventMeta: meta, TargetMessage: id, Data: m, ConvertEditFunc: c.convertEdit}
		return true, c.queue(ctx, &ed.EventMeta, ed, "")
	}
	return true, nil // bridged and unchanged
}

// handleEdit bridges a skypeeditedid record: an edit, or with empty content
// a delete, of the message whose clientmessageid it names.
func (c *Client) handleEdit(ctx context.Context, conv, from string, m *chatsvc.Message) error {
	target := msgID(conv, string(m.SkypeEditedID), "")
	if from == c.selfMRI() && c.takeOwnEdit(target) {
		return nil // the echo of an edit or delete made from Matrix
	}
	meta := simplevent.EventMeta{PortalKey: c.portalKey(conv), Sender: c.sender(from), Timestamp: m.Time(), StreamOrder: m.ID.Int()}
	if m.IsDeleted() {
		meta.Type = bridgev2.RemoteEventMessageRemove
		rm := &simplevent.MessageRemove{EventMeta: meta, TargetMessage: target}
		return c.queue(ctx, &rm.EventMeta, rm, "")
	}
	meta.Type = bridgev2.RemoteEventEdit
	ed := &simplevent.Message[*chatsvc.Message]{EventMeta: meta, TargetMessage: target, Data: m, ConvertEditFunc: c.convertEdit}
	return c.queue(ctx, &ed.EventMeta, ed, "")
}

func (c *Client) addOwnEdit(target networkid.MessageID) {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	c.ownEdits[target]++
}

func (c *Client) dropOwnEdit(target networkid.MessageID) {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	if c.ownEdits[target]--; c.ownEdits[target] <= 0 {
		delete(c.ownEdits, target)
	}
}

func (c *Client) takeOwnEdit(target networkid.MessageID) bool {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	if c.ownEdits[target] == 0 {
		return false
	}
	if c.ownEdits[target]--; c.ownEdits[target] == 0 {
		delete(c.ownEdits, target)
	}
	return true
}

// handleActivity bridges membership and topic changes of a group.
func (c *Client) handleActivity(ctx context.Context, conv string, m *chatsvc.Message) error {
	act, err := chatsvc.ParseThreadActivity(m)
	if err != nil {
		c.log.Warn().Err(err).Str("type", m.MessageType).Msg("Dropping an unreadable Skype thread activity")
		return nil
	}
	change := &bridgev2.ChatInfoChange{ChatInfo: &bridgev2.ChatInfo{}}
	// The user being added to a group opens its portal, as a first
	// message in it would (live, or in a catch-up after downtime).
	addsSelf := false
	switch strings.ToLower(act.Type) {
	case "topicupdate":
		topic := act.Value
		change.ChatInfo.Name = &topic
	case "addmember", "deletemember":
		membership := event.MembershipJoin
		if strings.EqualFold(act.Type, "deletemember") {
			membership = event.MembershipLeave
		}
		mc := &bridgev2.ChatMemberList{MemberMap: bridgev2.ChatMemberMap{}}
		for _, t := range act.Targets {
			mc.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(t.MRI), Membership: membership})
			addsSelf = addsSelf || (membership == event.MembershipJoin && strings.EqualFold(t.MRI, c.selfMRI()))
		}
		change.MemberChanges = mc
	default:
		c.log.Debug().Str("type", act.Type).Msg("Ignoring a Skype thread activity without a Matrix counterpart")
		return nil
	}
	meta := simplevent.EventMeta{Type: bridgev2.RemoteEventChatInfoChange, PortalKey: c.portalKey(conv), Timestamp: m.Time(),
		Sender: c.sender(act.Initiator), CreatePortal: addsSelf}
	evt := &simplevent.ChatInfoChange{EventMeta: meta, ChatInfoChange: change}
	err = c.queue(ctx, &evt.EventMeta, evt, "")
	if err != nil && addsSelf && ctx.Err() == nil {
		// A portal that cannot be created now (in a catch-up the group
		// may be gone or left since) must not hold up the events after
		// it; a later message in the group tries again.
		c.log.Warn().Err(err).Str("conversation", conv).Msg("Cannot open the portal of a Skype group the user was added to")
		return nil
	}
	return err
}

// handleConversationUpdate bridges the user's own read position (set by
// another Skype client) as a read receipt of the user.
func (c *Client) handleConversationUpdate(ctx context.Context, conv *chatsvc.Conversation) error {
	if conv.ID == "" || chatsvc.IsSystemFeed(conv.ID) || !conv.Properties.Has("consumptionhorizon") {
		return nil
	}
	h := conv.Horizon()
	if h.MessageID == "" || h.MessageID == "0" {
		return nil
	}
	target, err := c.horizonTarget(ctx, conv.ID, h)
	if err != nil || target == "" {
		return err
	}
	evt := &simplevent.Receipt{
		EventMeta:  simplevent.EventMeta{Type: bridgev2.RemoteEventReadReceipt, PortalKey: c.portalKey(conv.ID), Sender: c.sender(c.selfMRI()), Timestamp: h.Time},
		LastTarget: target,
	}
	return c.queue(ctx, &evt.EventMeta, evt, "")
}

// horizonTarget finds the bridged message a horizon names: clients write a
// clientmessageid or a server id there.
func (c *Client) horizonTarget(ctx context.Context, conv string, h chatsvc.Horizon) (networkid.MessageID, error) {
	for _, cand := range []networkid.MessageID{msgID(conv, h.MessageID, ""), msgID(conv, "", h.MessageID)} {
		part, err := c.conn.Env.Bridge.DB.Message.GetFirstPartByID(ctx, c.Login.ID, cand)
		if err != nil {
			return "", fmt.Errorf("look up the read horizon's message: %w", err)
		}
		if part != nil {
			return cand, nil
		}
	}
	return "", nil // not bridged (yet): nothing to mark
}

// handleThreadUpdate resyncs a group's members and topic.
func (c *Client) handleThreadUpdate(ctx context.Context, th *chatsvc.Thread) error {
	if th.ID == "" || th.IsOneToOne() {
		return nil
	}
	// A pushed snapshot may predate a membership change already bridged
	// from the stream (Skype sends ThreadUpdate and the ThreadActivity
	// messages as separate events); the group as it is now cannot undo
	// one. The snapshot serves when the group cannot be read (left).
	if cur, err := c.api.Thread(ctx, th.ID); err == nil && cur != nil {
		th = cur
	} else if err != nil {
		c.log.Debug().Err(err).Str("conversation", th.ID).Msg("Cannot read the Skype group; using the pushed snapshot")
	}
	info := c.threadInfo(th)
	evt := &simplevent.ChatResync{
		EventMeta: simplevent.EventMeta{Type: bridgev2.RemoteEventChatResync, PortalKey: c.portalKey(th.ID)},
		ChatInfo:  info,
	}
	return c.queue(ctx, &evt.EventMeta, evt, "")
}

// advanceAfter moves the arrival cursor past m once it was handled.
func (c *Client) advanceAfter(ctx context.Context, m *chatsvc.Message, err error) error {
	if err != nil {
		return err
	}
	c.advance(ctx, m.Time())
	return nil
}

// existing reports whether a message is already bridged.
func (c *Client) existing(ctx context.Context, id networkid.MessageID) (*database.Message, error) {
	return c.conn.Env.Bridge.DB.Message.GetFirstPartByID(ctx, c.Login.ID, id)
}

// messageFromLink reads the message of an event whose resource could not
// be read (absent, or not a message object) from the resourceLink, as the
// chat service lets clients do. A message that cannot be read that way
// either is dropped with a warn line (nil, nil); a read that may pass
// later returns the error, so the event stays un-acked and comes again.
func (c *Client) messageFromLink(ctx context.Context, ev *chatsvc.EventMessage, parseErr error) (*chatsvc.Message, error) {
	log := c.log.With().Str("resource", ev.ResourceLink).AnErr("parse_error", parseErr).Logger()
	conv, _ := chatsvc.ConversationFromURL(ev.ResourceLink)
	_, id, ok := strings.Cut(ev.ResourceLink, "/messages/")
	id, _, _ = strings.Cut(id, "?")
	if !ok || conv == "" || id == "" || strings.Contains(id, "/") {
		log.Warn().Msg("Dropping an unreadable Skype message event: its link names no message")
		return nil, nil
	}
	m, err := c.api.Message(ctx, conv, id)
	switch {
	case err == nil:
		if m.ConversationLink == "" && m.ConversationID == "" && m.To == "" {
			m.ConversationID = conv
		}
		if m.ID == "" {
			m.ID = chatsvc.FlexString(id)
		}
		log.Info().Msg("Read a Skype message from its link: the event's resource could not be read")
		return m, nil
	case errors.Is(err, chatsvc.ErrNotFound), errors.Is(err, chatsvc.ErrForbidden), errors.Is(err, chatsvc.ErrMalformedResponse):
		log.Warn().Err(err).Msg("Dropping an unreadable Skype message event: the message cannot be read from its link either")
		return nil, nil
	}
	return nil, fmt.Errorf("read the message of an unreadable event from its link: %w", err)
}
