package lync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/bridgev2/status"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/database"
)

// handleUpdate is the ucwa.Handler of the event channel. It returns an
// error (keeping the event cursor, so the batch is fetched again) when an
// event could not be handled for a reason that may pass, or the login is
// stopping while messages are still on their way to Matrix.
func (c *Client) handleUpdate(ctx context.Context, u ucwa.Update) error {
	switch u.Kind {
	case ucwa.UpdateRetrying:
		c.log.Debug().Err(u.Err).Dur("retry_in", u.RetryIn).Msg("Event channel retrying")
		c.conn.Env.Metrics.RemoteAPIError("lync", "events", statusOf(u.Err))
		return nil
	case ucwa.UpdateResync, ucwa.UpdateResume:
		c.log.Info().Stringer("kind", u.Kind).Msg("Server reset the session's conversations")
		c.conv.reset()
	case ucwa.UpdateApplicationRecreated:
		c.conv.reset()
		c.notice(ctx, "The Skype for Business server had dropped the bridge's session; it was started again. Messages sent to you in the meantime may have been missed.")
	}
	if u.Batch != nil {
		for _, sk := range u.Batch.Skipped {
			c.log.Warn().Str("sender", sk.SenderHref).Str("href", sk.Href).Str("reason", sk.Reason).
				Msg("Skipped a malformed event from the server")
		}
		var b batch
		var failed error
		for _, se := range u.Batch.All() {
			if err := c.handleEvent(ctx, se.Sender, se.Event, &b); err != nil {
				failed = err
				break
			}
		}
		// Whatever was queued is settled even when a later event failed:
		// the refetched batch then finds those messages already bridged.
		if err := c.settle(ctx, &b); err != nil {
			return fmt.Errorf("bridge incoming messages: %w", err)
		}
		if failed != nil {
			return failed
		}
	}
	c.saveState(ctx, u.State)
	c.batchesHandled.Add(1)
	if c.LastState() != status.StateConnected {
		c.SendState(status.BridgeState{StateEvent: status.StateConnected})
	}
	return nil
}

func (c *Client) handleEvent(ctx context.Context, sender *ucwa.Sender, ev *ucwa.Event, b *batch) error {
	log := c.log.With().Str("sender", sender.Rel).Str("event", ev.Type).Str("rel", ev.Link.Rel).Logger()
	switch ev.Link.Rel {
	case "messagingInvitation":
		inv, err := eventResource(ctx, c, ev, ev.MessagingInvitation)
		if err != nil {
			return c.unreadable(ctx, log, "invitation", ev, err)
		}
		return c.handleInvitation(ctx, log, ev, inv, b)
	case "onlineMeetingInvitation":
		// Multi-party IM: Skype for Business invites into a conference, not a
		// messaging conversation; accepting works the same way.
		inv, err := eventResource(ctx, c, ev, ev.OnlineMeetingInvitation)
		if err != nil {
			return c.unreadable(ctx, log, "conference invitation", ev, err)
		}
		if inv.Direction == ucwa.DirectionIncoming && inv.ThreadID != "" {
			c.conv.mu.Lock()
			c.conv.conv(inv.Links.Href("conversation")).group = true
			c.conv.mu.Unlock()
			return c.handleInvitation(ctx, log, ev, &inv.MessagingInvitation, b)
		}
	case "conversation":
		return c.handleConversation(ctx, log, ev, b)
	case "messaging":
		lc, err := c.handleMessaging(ctx, log, sender, ev)
		if err != nil {
			return err
		}
		if lc != nil {
			c.flushFirst(ctx, lc, b)
		}
	case "participant", "localParticipant":
		return c.handleParticipant(ctx, log, sender, ev)
	case "message":
		return c.handleMessage(ctx, sender, ev, b)
	}
	return nil
}

// unreadable decides about an event whose resource could not be read. A
// failure that may pass keeps the event cursor (the error makes the ucwa
// event loop fetch the batch again; what was bridged of it is not bridged
// twice); any other is skipped with a warning naming the href, so one
// resource the server will never serve cannot hold up the channel.
func (c *Client) unreadable(ctx context.Context, log zerolog.Logger, what string, ev *ucwa.Event, err error) error {
	if ucwa.IsTransient(err) || ctx.Err() != nil {
		return fmt.Errorf("read %s %s: %w", what, ev.Link.Href, err)
	}
	log.Warn().Err(err).Str("href", ev.Link.Href).Msg("Cannot read the " + what + " of an event; skipped")
	return nil
}

// eventResource returns the resource an event announces: the embedded one,
// or, when the server left _embedded out (which lync-ucwa.md §4.2 allows
// for every event) or embedded something unreadable, the resource read
// from the event's link.
func eventResource[T any](ctx context.Context, c *Client, ev *ucwa.Event, embedded func() (*T, error)) (*T, error) {
	if v, err := embedded(); err == nil {
		return v, nil
	} else if !errors.Is(err, ucwa.ErrNotEmbedded) {
		c.log.Debug().Err(err).Str("href", ev.Link.Href).Msg("Embedded resource unreadable; reading its link")
	}
	return retryRead(ctx, c, ev.Link.Href, func() (*T, error) {
		v := new(T)
		if err := c.api.GetJSON(ctx, ev.Link.Href, v); err != nil {
			return nil, err
		}
		return v, nil
	})
}

// retryRead runs read, retrying a read the server refused for now a few
// times in place: failing the whole batch would refetch (and reread) all
// of it, and with many events in a batch and a flaky server that might
// never get through.
func retryRead[T any](ctx context.Context, c *Client, href string, read func() (T, error)) (T, error) {
	wait := orDefault(c.conn.RetryBackoffMin, time.Second)
	for attempt := 1; ; attempt++ {
		v, err := read()
		if err == nil || !ucwa.IsTransient(err) || attempt == 5 {
			return v, err
		}
		c.log.Debug().Err(err).Str("href", href).Int("attempt", attempt).Msg("Reading an event's resource failed for now; retrying")
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// handleConversation follows a conversation's state: its thread, whether
// it is a group, and a conference whose IM must be joined. The resource
// is read from the event's link when it is not embedded.
func (c *Client) handleConversation(ctx context.Context, log zerolog.Logger, ev *ucwa.Event, b *batch) error {
	if ev.Type == ucwa.EventDeleted {
		c.conv.mu.Lock()
		lc := c.conv.byHref[ev.Link.Href]
		c.conv.mu.Unlock()
		if lc != nil {
			c.flushFirst(ctx, lc, b)
		}
		c.dropFirst(ctx, ev.Link.Href)
		c.conv.mu.Lock()
		defer c.conv.mu.Unlock()
		if lc := c.conv.byHref[ev.Link.Href]; lc != nil {
			lc.ended = true
			delete(c.conv.byHref, ev.Link.Href)
			if c.conv.byPortal[lc.portal.ID] == lc {
				delete(c.conv.byPortal, lc.portal.ID)
			}
		}
		return nil
	}
	conv, err := eventResource(ctx, c, ev, ev.Conversation)
	if ucwa.IsNotFound(err) {
		// Gone already: its deleted event follows.
		log.Debug().Str("href", ev.Link.Href).Msg("Conversation ended before its update was read")
		return nil
	}
	if err != nil {
		return c.unreadable(ctx, log, "conversation", ev, err)
	}
	c.conv.mu.Lock()
	lc := c.conv.conv(ev.Link.Href)
	if conv.ThreadID != "" {
		lc.threadID = conv.ThreadID
	}
	// A 1:1 chat already in its DM portal that has more people now (a
	// resource read from its link shows the current count, which may be
	// ahead of the participant events) moves to a group portal.
	escalate := false
	if conv.ParticipantCount > 2 && !lc.group {
		if lc.remote != "" && lc.portal.ID != "" && lc.threadID != "" {
			escalate = true
		} else {
			lc.group = true
		}
	}
	// In a conference the application must join IM itself.
	if conv.State == "Conferenced" && !lc.joiningIM {
		lc.joiningIM = true
		go c.joinConferenceIM(conv.Links.Href("messaging"))
	}
	c.conv.mu.Unlock()
	if escalate {
		c.escalate(ctx, lc)
	}
	return nil
}

// joinConferenceIM adds the messaging modality to a conference the user
// accepted, so its messages start to flow.
func (c *Client) joinConferenceIM(messagingHref string) {
	ctx, cancel := context.WithTimeout(c.log.WithContext(context.Background()), c.conn.acceptTimeout())
	defer cancel()
	if messagingHref == "" {
		c.log.Warn().Msg("Conference without a messaging link")
		return
	}
	m, err := c.api.Messaging(ctx, messagingHref)
	if err == nil && m.State != "Connected" {
		_, err = c.api.AddMessaging(ctx, m, "", false, newGUID())
	}
	if err != nil {
		c.log.Warn().Err(err).Msg("Failed to join the conference's IM")
		c.conn.Env.Metrics.RemoteAPIError("lync", "addMessaging", statusOf(err))
	}
}

// handleMessaging tracks the IM modality; it returns the conversation when
// messaging just connected. The resource is read from the event's link
// when it is not embedded; a messaging resource that is gone (404) means
// its conversation ended.
func (c *Client) handleMessaging(ctx context.Context, log zerolog.Logger, sender *ucwa.Sender, ev *ucwa.Event) (*liveConv, error) {
	// Messaging events come from their conversation.
	senderConv := ""
	if sender.Rel == "conversation" {
		senderConv = sender.Href
	}
	m, err := eventResource(ctx, c, ev, ev.Messaging)
	if ucwa.IsNotFound(err) && senderConv != "" {
		m = &ucwa.Messaging{State: "Disconnected"}
		log.Debug().Str("href", ev.Link.Href).Msg("Messaging gone before its update was read; its conversation ended")
	} else if err != nil {
		return nil, c.unreadable(ctx, log, "messaging", ev, err)
	}
	convHref := m.Links.Href("conversation")
	if convHref == "" {
		convHref = senderConv
	}
	c.conv.mu.Lock()
	defer c.conv.mu.Unlock()
	if convHref == "" {
		log.Warn().Str("href", ev.Link.Href).Msg("Messaging update names no conversation; skipped")
		return nil, nil
	}
	if m.State == "Disconnected" && c.conv.byHref[convHref] == nil {
		return nil, nil
	}
	lc := c.conv.conv(convHref)
	lc.messaging = m
	switch m.State {
	case "Connected":
		lc.markConnected()
		return lc, nil
	case "Disconnected":
		// The colleague (or the server) closed the chat; the next Matrix
		// message starts a new conversation in the same portal.
		lc.ended = true
		if c.conv.byPortal[lc.portal.ID] == lc {
			delete(c.conv.byPortal, lc.portal.ID)
		}
	}
	return nil, nil
}

// handleInvitation accepts incoming invitations at once (they die after
// about 30 s) and bridges the message they carry; outgoing ones report back
// to the Matrix message that started them.
func (c *Client) handleInvitation(ctx context.Context, log zerolog.Logger, ev *ucwa.Event, inv *ucwa.MessagingInvitation, b *batch) error {
	convHref := inv.Links.Href("conversation")
	if inv.Direction == ucwa.DirectionOutgoing {
		c.conv.mu.Lock()
		if convHref != "" {
			lc := c.conv.conv(convHref)
			if inv.ThreadID != "" {
				lc.threadID = inv.ThreadID
			}
		}
		if ev.Type == ucwa.EventCompleted {
			c.conv.finishOutgoing(inv.OperationID, ev.Link.Href, opResult{ok: ev.Status == ucwa.StatusSuccess, reason: ev.Reason, convRef: convHref})
		}
		c.conv.mu.Unlock()
		return nil
	}
	switch ev.Type {
	case ucwa.EventStarted:
		from, err := c.inviter(ctx, inv)
		if err != nil && (ucwa.IsTransient(err) || ctx.Err() != nil) {
			return fmt.Errorf("read the sender of invitation %s: %w", ev.Link.Href, err)
		}
		if err != nil || from.URI == "" {
			log.Warn().Err(err).Str("href", ev.Link.Href).Msg("Incoming invitation without a sender; declining")
			go c.decline(inv)
			return nil
		}
		sip := normalizeSIP(from.URI)
		c.conv.mu.Lock()
		if from.Name != "" {
			c.conv.names[sip] = from.Name
		}
		if href := from.Self(); href != "" {
			c.conv.participants[href] = sip
		}
		lc := c.conv.conv(convHref)
		if inv.ThreadID != "" {
			lc.threadID = inv.ThreadID
		}
		threadID, group := lc.threadID, lc.group
		c.conv.mu.Unlock()
		if !group {
			group = c.isGroup(ctx, convHref, threadID)
		}
		c.conv.mu.Lock()
		key := c.dmPortal(sip)
		if group && lc.threadID != "" {
			lc.group = true
			key = c.groupPortal(lc.threadID)
		} else {
			lc.remote = sip
		}
		c.conv.bind(lc, key)
		body, hasBody, bodyErr := inv.FirstMessage()
		if hasBody && bodyErr != nil {
			// Still bridged, as a notice that it could not be read.
			body = ucwa.MessageBody{Undecodable: true}
		}
		var fm *firstMessage
		if hasBody && lc.first == nil {
			fm = &firstMessage{Body: body, SIP: sip, ID: inv.Self() + "#message", Time: time.Now()}
			lc.first = fm
		}
		c.conv.mu.Unlock()
		if group && threadID != "" {
			c.rememberGroup(ctx, threadID, key, convHref)
		}
		if fm != nil {
			c.saveFirst(ctx, convHref, fm)
		}
		if inv.Links.Has("accept") {
			go c.accept(inv)
		}
		if bodyErr != nil {
			c.log.Warn().Err(bodyErr).Msg("Invitation message could not be decoded")
		}
	case ucwa.EventCompleted:
		c.conv.mu.Lock()
		lc := c.conv.byHref[convHref]
		c.conv.mu.Unlock()
		if lc != nil {
			c.flushFirst(ctx, lc, b)
		}
		if ev.Status == ucwa.StatusFailure {
			reason := ""
			if ev.Reason != nil {
				reason = ev.Reason.Subcode + ": " + ev.Reason.Message
			}
			c.log.Info().Str("reason", reason).Msg("Incoming invitation ended without a conversation")
		}
	}
	return nil
}

// inviter is the participant who sent an incoming invitation: embedded in
// it, or read from its from link when the server only links it.
func (c *Client) inviter(ctx context.Context, inv *ucwa.MessagingInvitation) (*ucwa.Participant, error) {
	from, err := inv.From()
	href := inv.Links.Href("from")
	if err == nil || href == "" {
		return from, err
	}
	return retryRead(ctx, c, href, func() (*ucwa.Participant, error) {
		p := new(ucwa.Participant)
		if err := c.api.GetJSON(ctx, href, p); err != nil {
			return nil, err
		}
		return p, nil
	})
}

func (c *Client) accept(inv *ucwa.MessagingInvitation) {
	ctx, cancel := context.WithTimeout(c.log.WithContext(context.Background()), c.conn.acceptTimeout())
	defer cancel()
	if err := c.api.Accept(ctx, inv); err != nil {
		c.log.Warn().Err(err).Msg("Failed to accept an invitation")
		c.conn.Env.Metrics.RemoteAPIError("lync", "accept", statusOf(err))
	}
}

func (c *Client) decline(inv *ucwa.MessagingInvitation) {
	ctx, cancel := context.WithTimeout(c.log.WithContext(context.Background()), c.conn.acceptTimeout())
	defer cancel()
	if err := c.api.Decline(ctx, inv, "Local"); err != nil {
		c.log.Warn().Err(err).Msg("Failed to decline an invitation")
	}
}

// handleParticipant learns names and SIP addresses, and turns typing
// notifications (participants added to typingParticipants) into Matrix typing.
//
// A participant the event does not embed is read from its link. When that
// fails, the address the participant's href ends in stands in; with no
// address there and a reason that may pass, a join or leave keeps the cursor (the
// batch comes again); a typing notification is not worth that and is
// dropped with a debug line.
func (c *Client) handleParticipant(ctx context.Context, log zerolog.Logger, sender *ucwa.Sender, ev *ucwa.Event) error {
	if ev.Link.Rel == "localParticipant" {
		return nil
	}
	sip, err := c.participantSIP(ctx, ev.Link.Href, ev)
	if fromHref := sipFromContactHref(ev.Link.Href); err != nil && fromHref != "" {
		// A participant's href ends in its address (lync-ucwa.md §8), which
		// is all a join, leave or typing needs: holding every chat's events
		// until the participant can be read would stall them all.
		log.Warn().Err(err).Str("href", ev.Link.Href).Msg("Cannot read a participant; using the address its link ends in")
		sip, err = fromHref, nil
	}
	if err != nil && ev.In == nil {
		return c.unreadable(ctx, log, "participant", ev, err)
	}
	if err != nil {
		log.Debug().Err(err).Str("href", ev.Link.Href).Msg("Cannot read a typing participant")
		return nil
	}
	if sip == "" {
		log.Warn().Str("href", ev.Link.Href).Msg("Participant without a SIP address; skipped")
		return nil
	}
	c.conv.mu.Lock()
	if ev.Link.Title != "" && c.conv.names[sip] == "" {
		c.conv.names[sip] = ev.Link.Title
	}
	lc := c.conv.byHref[sender.Href]
	var key networkid.PortalKey
	group := false
	if lc != nil {
		key, group = lc.portal, lc.group
	}
	name := c.conv.names[sip]
	c.conv.mu.Unlock()
	if key.ID == "" {
		return nil
	}
	if ev.In == nil && !group && ev.Type == ucwa.EventAdded && lc != nil && lc.remote != "" && sip != lc.remote && lc.threadID != "" {
		c.escalate(ctx, lc)
		return nil
	}
	if ev.In == nil && group {
		c.syncGroupMember(key, sip, name, ev.Type)
		return nil
	}
	if ev.In == nil || ev.In.Rel != "typingParticipants" {
		return nil
	}
	timeout := 15 * time.Second
	if ev.Type == ucwa.EventDeleted {
		timeout = 0
	}
	c.Login.QueueRemoteEvent(&simplevent.Typing{
		EventMeta: simplevent.EventMeta{Type: bridgev2.RemoteEventTyping, PortalKey: key,
			Sender: bridgev2.EventSender{Sender: ids.UserID(ids.Lync, sip)}},
		Timeout: timeout,
	})
	return nil
}

// isGroup tells whether a new incoming conversation is a multi-party one: its
// thread was a group before, or others are in it already (the invited user is
// not counted until they join).
func (c *Client) isGroup(ctx context.Context, convHref, threadID string) bool {
	if threadID != "" {
		if t, err := c.conn.Env.DB.Thread.Get(ctx, c.Login.ID, threadID); err == nil && t != nil {
			return true
		}
	}
	conv, err := c.api.Conversation(ctx, convHref)
	return err == nil && conv.ParticipantCount >= 2
}

// escalate turns a 1:1 conversation that gained a third person into a group
// chat: from now on it is bridged into a group portal keyed by its thread.
func (c *Client) escalate(ctx context.Context, lc *liveConv) {
	c.conv.mu.Lock()
	lc.group = true
	if c.conv.byPortal[lc.portal.ID] == lc {
		delete(c.conv.byPortal, lc.portal.ID)
	}
	key := c.groupPortal(lc.threadID)
	c.conv.bind(lc, key)
	threadID, href := lc.threadID, lc.href
	c.conv.mu.Unlock()
	c.rememberGroup(ctx, threadID, key, href)
	c.Login.QueueRemoteEvent(&simplevent.ChatResync{
		EventMeta:       simplevent.EventMeta{Type: bridgev2.RemoteEventChatResync, PortalKey: key, CreatePortal: true},
		GetChatInfoFunc: c.GetChatInfo,
	})
}

// rememberGroup records a group thread, so later invitations into it and
// restarts find the group portal.
func (c *Client) rememberGroup(ctx context.Context, threadID string, key networkid.PortalKey, href string) {
	err := c.conn.Env.DB.Thread.Put(ctx, &database.Thread{LoginID: c.Login.ID, ThreadID: threadID, PortalID: key.ID, ConversationRef: href})
	if err != nil {
		c.log.Err(err).Msg("Failed to remember a group thread")
	}
}

// syncGroupMember mirrors a colleague joining or leaving a group chat.
func (c *Client) syncGroupMember(key networkid.PortalKey, sip, name, evType string) {
	membership := event.MembershipJoin
	switch evType {
	case ucwa.EventAdded:
	case ucwa.EventDeleted:
		membership = event.MembershipLeave
	default:
		return
	}
	ghost := ids.UserID(ids.Lync, sip)
	c.Login.QueueRemoteEvent(&simplevent.ChatInfoChange{
		EventMeta: simplevent.EventMeta{Type: bridgev2.RemoteEventChatInfoChange, PortalKey: key,
			Sender: bridgev2.EventSender{Sender: ghost}},
		ChatInfoChange: &bridgev2.ChatInfoChange{MemberChanges: &bridgev2.ChatMemberList{MemberMap: bridgev2.ChatMemberMap{
			ghost: {EventSender: bridgev2.EventSender{Sender: ghost}, Membership: membership, UserInfo: &bridgev2.UserInfo{Name: nonEmpty(name)}},
		}}},
	})
}

// participantSIP finds a participant's SIP address: from the event, from
// what we saw before, or by reading the participant resource. A
// participant deleted before it could be read is named by its href, which
// ends in its address (lync-ucwa.md §8).
func (c *Client) participantSIP(ctx context.Context, href string, ev *ucwa.Event) (string, error) {
	if ev != nil {
		if p, err := ev.Participant(); err == nil && p.URI != "" {
			return c.learnParticipant(href, p), nil
		}
	}
	c.conv.mu.Lock()
	sip, ok := c.conv.participants[href]
	c.conv.mu.Unlock()
	if ok || href == "" {
		return sip, nil
	}
	p, err := retryRead(ctx, c, href, func() (*ucwa.Participant, error) {
		p := new(ucwa.Participant)
		if err := c.api.GetJSON(ctx, href, p); err != nil {
			return nil, err
		}
		return p, nil
	})
	if ev != nil && ev.Type == ucwa.EventDeleted && ucwa.IsNotFound(err) {
		return sipFromContactHref(href), nil
	}
	if err != nil {
		return "", fmt.Errorf("read participant %s: %w", href, err)
	}
	if p.URI == "" {
		return "", nil
	}
	return c.learnParticipant(href, p), nil
}

// learnParticipant remembers a participant's address and name.
func (c *Client) learnParticipant(href string, p *ucwa.Participant) string {
	sip := normalizeSIP(p.URI)
	c.conv.mu.Lock()
	defer c.conv.mu.Unlock()
	c.conv.participants[href] = sip
	if p.Name != "" {
		c.conv.names[sip] = p.Name
	}
	return sip
}

// handleMessage bridges incoming messages and settles outgoing ones; own
// messages (direction Outgoing) are never bridged back. A message event
// without _embedded is read from its link; if that read fails for a reason
// that may pass, the error keeps the event cursor so the batch comes again.
func (c *Client) handleMessage(ctx context.Context, sender *ucwa.Sender, ev *ucwa.Event, b *batch) error {
	if ev.Type == ucwa.EventDeleted {
		return nil
	}
	msg, err := c.readMessage(ctx, ev)
	if err != nil {
		if ucwa.IsTransient(err) || ctx.Err() != nil {
			return fmt.Errorf("read message %s: %w", ev.Link.Href, err)
		}
		c.skipMessage(ev.Link.Href, "cannot read it: "+err.Error())
		return nil
	}
	if msg.Direction == ucwa.DirectionOutgoing {
		if ev.Type == ucwa.EventCompleted || ev.Status != "" {
			c.conv.mu.Lock()
			c.conv.finishOutgoing(msg.OperationID, ev.Link.Href, opResult{ok: ev.Status != ucwa.StatusFailure, reason: ev.Reason})
			c.conv.mu.Unlock()
		}
		return nil
	}
	if msg.Direction != ucwa.DirectionIncoming || !msg.HasBody() {
		return nil
	}
	body, bodyErr := msg.Body()
	if bodyErr != nil {
		c.log.Warn().Err(bodyErr).Str("href", ev.Link.Href).Msg("Part of an incoming message could not be decoded")
	}
	sip, err := c.participantSIP(ctx, msg.Links.Href("participant"), nil)
	if err != nil {
		c.log.Warn().Err(err).Str("href", ev.Link.Href).Msg("Cannot read the sender of a message; using its contact link")
	}
	if sip == "" {
		sip = sipFromContactHref(msg.Links.Href("contact"))
	}
	c.conv.mu.Lock()
	convHref := sender.Href
	if convHref == "" {
		convHref = msg.Links.Href("conversation")
	}
	lc := c.conv.conv(convHref)
	if title := linkTitle(msg.Links, "participant"); title != "" && sip != "" && c.conv.names[sip] == "" {
		c.conv.names[sip] = title
	}
	if lc.portal.ID == "" {
		switch {
		case lc.group && lc.threadID != "":
			c.conv.bind(lc, c.groupPortal(lc.threadID))
		case sip != "":
			lc.remote = sip
			c.conv.bind(lc, c.dmPortal(sip))
		}
	}
	key := lc.portal
	c.conv.mu.Unlock()
	msgID := c.firstEventID(ctx, lc, ev.Link.Href, body)
	if key.ID == "" || sip == "" {
		c.skipMessage(ev.Link.Href, "from an unknown conversation or sender ("+convHref+")")
		return nil
	}
	ts := msg.TimeStamp.Time
	if msg.BadTimeStamp != "" {
		c.log.Warn().Str("href", ev.Link.Href).Str("time_stamp", msg.BadTimeStamp).Msg("Incoming message has an unreadable timeStamp; using the time it arrived")
	}
	if ts.IsZero() {
		ts = time.Now()
	}
	c.queueMessage(ctx, key, sip, msgID, ts, body, b)
	return nil
}

func linkTitle(links ucwa.Links, rel string) string {
	if l, ok := links.Get(rel); ok {
		return l.Title
	}
	return ""
}

// sipFromContactHref reads the SIP address at the end of a people/<address>
// (or participants/<address>) href; a fallback for servers that send no
// participant link, and for participants gone before they were read.
func sipFromContactHref(href string) string {
	i := strings.LastIndex(href, "/")
	if i < 0 || !strings.Contains(href[i+1:], "@") {
		return ""
	}
	return normalizeSIP(href[i+1:])
}

// statusOf is the HTTP status of a failed UCWA call, 0 when none arrived.
func statusOf(err error) int {
	var e *ucwa.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// readMessage reads the message an event announces (embedded, or from the
// event's link), retrying in place a read the server refused for now.
func (c *Client) readMessage(ctx context.Context, ev *ucwa.Event) (*ucwa.Message, error) {
	return retryRead(ctx, c, ev.Link.Href, func() (*ucwa.Message, error) { return c.api.EventMessage(ctx, ev) })
}
