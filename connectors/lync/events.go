package lync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
		inv, err := ev.MessagingInvitation()
		if err != nil {
			if inv, err = c.api.Invitation(ctx, ev.Link.Href); err != nil {
				if ucwa.IsTransient(err) || ctx.Err() != nil {
					return fmt.Errorf("read invitation %s: %w", ev.Link.Href, err)
				}
				log.Warn().Err(err).Str("href", ev.Link.Href).Msg("Cannot read invitation; skipped")
				return nil
			}
		}
		c.handleInvitation(ctx, ev, inv, b)
	case "onlineMeetingInvitation":
		// Multi-party IM: Skype for Business invites into a conference, not a
		// messaging conversation; accepting works the same way.
		inv, err := ev.OnlineMeetingInvitation()
		if err != nil {
			if inv, err = c.api.OnlineMeetingInvitation(ctx, ev.Link.Href); err != nil {
				log.Warn().Err(err).Str("href", ev.Link.Href).Msg("Cannot read conference invitation")
				return nil
			}
		}
		if inv.Direction == ucwa.DirectionIncoming && inv.ThreadID != "" {
			c.conv.mu.Lock()
			c.conv.conv(inv.Links.Href("conversation")).group = true
			c.conv.mu.Unlock()
			c.handleInvitation(ctx, ev, &inv.MessagingInvitation, b)
		}
	case "conversation":
		c.handleConversation(ctx, ev, b)
	case "messaging":
		if lc := c.handleMessaging(ev); lc != nil {
			c.flushFirst(ctx, lc, b)
		}
	case "participant", "localParticipant":
		c.handleParticipant(ctx, sender, ev)
	case "message":
		return c.handleMessage(ctx, sender, ev, b)
	}
	return nil
}

func (c *Client) handleConversation(ctx context.Context, ev *ucwa.Event, b *batch) {
	if ev.Type == ucwa.EventDeleted {
		c.conv.mu.Lock()
		lc := c.conv.byHref[ev.Link.Href]
		c.conv.mu.Unlock()
		if lc != nil {
			c.flushFirst(ctx, lc, b)
		}
		c.dropFirst(ctx, ev.Link.Href)
	}
	c.conv.mu.Lock()
	defer c.conv.mu.Unlock()
	if ev.Type == ucwa.EventDeleted {
		if lc := c.conv.byHref[ev.Link.Href]; lc != nil {
			lc.ended = true
			delete(c.conv.byHref, ev.Link.Href)
			if c.conv.byPortal[lc.portal.ID] == lc {
				delete(c.conv.byPortal, lc.portal.ID)
			}
		}
		return
	}
	lc := c.conv.conv(ev.Link.Href)
	if conv, err := ev.Conversation(); err == nil {
		if conv.ThreadID != "" {
			lc.threadID = conv.ThreadID
		}
		if conv.ParticipantCount > 2 {
			lc.group = true
		}
		// In a conference the application must join IM itself.
		if conv.State == "Conferenced" && !lc.joiningIM {
			lc.joiningIM = true
			go c.joinConferenceIM(conv.Links.Href("messaging"))
		}
	}
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
// messaging just connected.
func (c *Client) handleMessaging(ev *ucwa.Event) *liveConv {
	m, err := ev.Messaging()
	if err != nil {
		return nil
	}
	convHref := m.Links.Href("conversation")
	c.conv.mu.Lock()
	defer c.conv.mu.Unlock()
	if convHref == "" {
		return nil
	}
	lc := c.conv.conv(convHref)
	lc.messaging = m
	switch m.State {
	case "Connected":
		lc.markConnected()
		return lc
	case "Disconnected":
		// The colleague (or the server) closed the chat; the next Matrix
		// message starts a new conversation in the same portal.
		lc.ended = true
		if c.conv.byPortal[lc.portal.ID] == lc {
			delete(c.conv.byPortal, lc.portal.ID)
		}
	}
	return nil
}

// handleInvitation accepts incoming invitations at once (they die after
// about 30 s) and bridges the message they carry; outgoing ones report back
// to the Matrix message that started them.
func (c *Client) handleInvitation(ctx context.Context, ev *ucwa.Event, inv *ucwa.MessagingInvitation, b *batch) {
	convHref := inv.Links.Href("conversation")
	if inv.Direction == ucwa.DirectionOutgoing {
		c.conv.mu.Lock()
		if convHref != "" {
			lc := c.conv.conv(convHref)
			if inv.ThreadID != "" {
				lc.threadID = inv.ThreadID
			}
		}
		if ev.Type == ucwa.EventCompleted && inv.OperationID != "" {
			c.conv.finishOp(inv.OperationID, opResult{ok: ev.Status == ucwa.StatusSuccess, reason: ev.Reason, convRef: convHref})
		}
		c.conv.mu.Unlock()
		return
	}
	switch ev.Type {
	case ucwa.EventStarted:
		from, err := inv.From()
		if err != nil || from.URI == "" {
			c.log.Warn().Err(err).Msg("Incoming invitation without a sender; declining")
			go c.decline(inv)
			return
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
func (c *Client) handleParticipant(ctx context.Context, sender *ucwa.Sender, ev *ucwa.Event) {
	if ev.Link.Rel == "localParticipant" {
		return
	}
	sip := c.participantSIP(ctx, ev.Link.Href, ev)
	if sip == "" {
		return
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
		return
	}
	if ev.In == nil && !group && ev.Type == ucwa.EventAdded && lc != nil && lc.remote != "" && sip != lc.remote && lc.threadID != "" {
		c.escalate(ctx, lc)
		return
	}
	if ev.In == nil && group {
		c.syncGroupMember(key, sip, name, ev.Type)
		return
	}
	if ev.In == nil || ev.In.Rel != "typingParticipants" {
		return
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
// what we saw before, or by reading the participant resource.
func (c *Client) participantSIP(ctx context.Context, href string, ev *ucwa.Event) string {
	if ev != nil {
		if p, err := ev.Participant(); err == nil && p.URI != "" {
			return c.learnParticipant(href, p)
		}
	}
	c.conv.mu.Lock()
	sip, ok := c.conv.participants[href]
	c.conv.mu.Unlock()
	if ok || href == "" {
		return sip
	}
	var p ucwa.Participant
	if err := c.api.GetJSON(ctx, href, &p); err != nil || p.URI == "" {
		c.log.Warn().Err(err).Str("href", href).Msg("Cannot read participant")
		return ""
	}
	return c.learnParticipant(href, &p)
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
		if msg.OperationID != "" && (ev.Type == ucwa.EventCompleted || ev.Status != "") {
			c.conv.mu.Lock()
			c.conv.finishOp(msg.OperationID, opResult{ok: ev.Status != ucwa.StatusFailure, reason: ev.Reason})
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
	sip := c.participantSIP(ctx, msg.Links.Href("participant"), nil)
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
// href; a fallback for servers that send no participant link.
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

// readMessage reads the message an event announces, retrying a read the
// server refused for now a few times in place: failing the whole batch
// would refetch (and reread) all of it, and with many messages in a batch
// and a flaky server that might never get through.
func (c *Client) readMessage(ctx context.Context, ev *ucwa.Event) (*ucwa.Message, error) {
	wait := orDefault(c.conn.RetryBackoffMin, time.Second)
	for attempt := 1; ; attempt++ {
		msg, err := c.api.EventMessage(ctx, ev)
		if err == nil || !ucwa.IsTransient(err) || attempt == 5 {
			return msg, err
		}
		c.log.Debug().Err(err).Str("href", ev.Link.Href).Int("attempt", attempt).Msg("Reading a message failed for now; retrying")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}
