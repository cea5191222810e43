package ucwaemu

import (
	"slices"
)

// member is a participant of a thread: a UCWA application of a user, or an
// emulated colleague (app == nil).
type member struct {
	user *user
	app  *application
}

// thread is a conversation as the whole system sees it; each participating
// application has its own view of it (appConv) with its own ids.
type thread struct {
	id         string
	seq        int // creation order
	subject    string
	importance string
	group      bool
	ended      bool
	members    []*member
	pending    map[string]*pendingInvite // by invitee address
	// confURI is the online meeting (conference) URI of a group thread,
	// made when the first onlineMeetingInvitation is sent.
	confURI string
}

// pendingInvite tracks an invitation until the invitee joins or it fails.
type pendingInvite struct {
	th      *thread
	from    *member
	to      *user
	first   *body
	queued  []*body // messages sent to the thread before the invitee joined
	opID    string
	appInvs []*invitation // the invitee's incoming invitations (one per available application)
	origin  *invitation   // the inviter's outgoing invitation, if the inviter is an application
	pinv    *participantInvitation
	timer   *serverTimer
}

// appConv is one application's view of a thread.
type appConv struct {
	id       string
	app      *application
	th       *thread
	state    string // Incoming, Connecting, Connected, Conferenced
	msgState string // Disconnected, Connecting, Connected
	inv      *invitation
	msgSeq   int
	lastPeer *user // whom addMessaging re-invites in a 1:1
	typing   map[string]*serverTimer
	messages map[int]obj // message resources by number, for GETs
	deleted  bool
}

// invitation is a messagingInvitation or onlineMeetingInvitation
// resource of one application.
type invitation struct {
	id        string
	conv      *appConv
	meeting   bool // an incoming onlineMeetingInvitation (group thread)
	direction string
	state     string // Connecting, Connected, Failed
	opID      string
	peer      *user // inviter of an incoming, invitee of an outgoing invitation (nil: joining a conference's IM)
	first     *body
	pi        *pendingInvite
	done      bool
	// sessionContext is echoed in accept links when the option asks for it.
	sessionContext string
}

// participantInvitation is the operation behind addParticipant.
type participantInvitation struct {
	id   string
	conv *appConv
	to   *user
	opID string
	done bool
}

func (th *thread) member(u *user) *member {
	for _, m := range th.members {
		if m.user == u {
			return m
		}
	}
	return nil
}

func (th *thread) memberApp(a *application) *member {
	for _, m := range th.members {
		if m.app == a {
			return m
		}
	}
	return nil
}

// convOf finds a's live view of th. Caller holds e.mu.
func convOf(a *application, th *thread) *appConv {
	for _, c := range a.convs {
		if c.th == th && !c.deleted {
			return c
		}
	}
	return nil
}

func (e *Emulator) newThread(from *member, subject string, group bool) *thread {
	e.threadSeq++
	th := &thread{id: newThreadID(), seq: e.threadSeq, subject: subject, importance: "Normal", group: group, pending: map[string]*pendingInvite{}}
	if from != nil {
		th.members = []*member{from}
	}
	e.threads[th.id] = th
	return th
}

func (e *Emulator) newConv(a *application, th *thread, state, msgState string) *appConv {
	c := &appConv{id: newGUID(), app: a, th: th, state: state, msgState: msgState, typing: map[string]*serverTimer{}}
	a.convs[c.id] = c
	return c
}

func commSender(a *application) (string, string) { return "communication", a.base() + "/communication" }

func (e *Emulator) commItem(a *application, ev obj) item {
	rel, href := commSender(a)
	return item{rel, href, ev}
}

func convItem(c *appConv, ev obj) item { return item{"conversation", c.href(), ev} }

// invite asks to to join th. Caller holds e.mu.
func (e *Emulator) invite(th *thread, from *member, to *user, first *body, opID string, origin *invitation, pinv *participantInvitation) {
	pi := &pendingInvite{th: th, from: from, to: to, first: first, opID: opID, origin: origin, pinv: pinv}
	th.pending[to.addr] = pi
	if origin != nil {
		origin.pi = pi
	}
	apps := e.availableApps(to)
	if len(apps) == 0 {
		switch to.policy {
		case PolicyAccept:
			e.join(pi, &member{user: to})
		case PolicyDecline:
			e.failInvite(pi, "Declined", "The invitation was declined.")
		default:
			pi.timer = e.after(e.opts.InvitationTimeout, func() { e.failInvite(pi, "Timeout", "The invitation timed out.") })
		}
		return
	}
	for _, a := range apps {
		if from.app == a {
			continue
		}
		e.incomingInvitation(a, pi)
	}
	pi.timer = e.after(e.opts.InvitationTimeout, func() { e.failInvite(pi, "Timeout", "The invitation timed out.") })
}

// incomingInvitation shows pi to application a, with the events of the
// captured incoming-IM sequence. Caller holds e.mu.
//
// In a group thread the application is invited into the thread's online
// meeting instead: Skype for Business has no incoming participantInvitation
// and shows a multi-party IM as an incoming onlineMeetingInvitation, whose
// accept joins the conference (conversation Conferenced) but no modality.
// The onlineMeetingInvitation still carries the text that started the
// thread (StartGroup sends one) as a message data-URL link, like a
// messagingInvitation, so a bridge can show it; that text counts as
// received once the invitation is accepted. Messages said before the
// application joins the IM modality (addMessaging) are not replayed.
func (e *Emulator) incomingInvitation(a *application, pi *pendingInvite) {
	c := e.newConv(a, pi.th, "Incoming", "Disconnected")
	inv := &invitation{id: randomHex(16), conv: c, meeting: pi.th.group, direction: "Incoming", state: "Connecting", peer: pi.from.user, first: pi.first, pi: pi, sessionContext: newGUID()}
	a.invs[inv.id] = inv
	c.inv = inv
	pi.appInvs = append(pi.appInvs, inv)
	if inv.meeting && pi.th.confURI == "" {
		pi.th.confURI = pi.from.user.sip() + ";gruu;opaque=app:conf:focus:id:" + randomHex(4)
	}
	// The captured server answered the invitation and the participant in
	// separate responses; solo groups keep those batch boundaries.
	e.emit(a, true,
		e.commItem(a, obj{"type": "started", "link": obj{"rel": inv.rel(), "href": inv.href()},
			"_embedded": obj{inv.rel(): e.invitationResource(inv)}}),
		e.commItem(a, obj{"type": "added", "link": obj{"rel": "conversation", "href": c.href()},
			"_embedded": obj{"conversation": e.conversationResource(c)}}),
		convItem(c, obj{"type": "added", "link": obj{"rel": "localParticipant", "href": c.participantHref(a.user), "title": a.user.name},
			"_embedded": obj{"localParticipant": e.participantResource(c, a.user)}}),
	)
	var others []item
	for _, u := range otherMembers(c) {
		others = append(others, convItem(c, obj{"type": "added", "link": obj{"rel": "participant", "href": c.participantHref(u), "title": u.name}}))
	}
	e.emit(a, true, others...)
}

// join adds m to the thread of pi and tells everyone. Caller holds e.mu.
func (e *Emulator) join(pi *pendingInvite, m *member) {
	th := pi.th
	delete(th.pending, pi.to.addr)
	e.cancel(pi.timer)
	for _, other := range pi.appInvs {
		if m.app == nil || other.conv.app != m.app {
			e.completeInvitation(other, false, "LocalFailure", "AnsweredElsewhere", "The invitation was answered on another device.")
			e.teardown(other.conv)
		}
	}
	for _, existing := range th.members {
		if existing.app == nil || existing == pi.from {
			continue
		}
		if c := convOf(existing.app, th); c != nil && c.inRoster() {
			e.announceParticipant(c, m.user)
		}
	}
	// Applications still deciding on their own invitation learn about the
	// newcomer too.
	for _, other := range th.pending {
		if other == pi {
			continue
		}
		for _, inv := range other.appInvs {
			if !inv.done && !inv.conv.deleted {
				c := inv.conv
				e.emit(c.app, false, convItem(c, obj{"type": "added",
					"link": obj{"rel": "participant", "href": c.participantHref(m.user), "title": m.user.name}}))
			}
		}
	}
	th.members = append(th.members, m)
	if len(th.members) > 2 {
		th.group = true
	}
	conferenced := false
	if m.app != nil {
		if c := convOf(m.app, th); c != nil {
			if c.inv != nil && c.inv.meeting {
				conferenced = true
				e.connectConference(c)
			} else {
				e.connectIncoming(c)
			}
		}
	}
	if pi.origin != nil && !pi.origin.done {
		e.connectOutgoing(pi.origin, m.user)
	} else if pi.from.app != nil {
		if c := convOf(pi.from.app, th); c != nil && c.inRoster() {
			e.announceParticipant(c, m.user)
		}
	}
	if pi.pinv != nil {
		e.completeParticipantInvitation(pi.pinv, true)
	}
	if conferenced {
		// The application read the first text from the invitation; it
		// gets no IMs until it joins the messaging modality.
		if b := pi.first; b != nil && b.log != nil {
			b.log.To = append(b.log.To, m.user.sip())
		}
		return
	}
	for _, b := range append([]*body{pi.first}, pi.queued...) {
		if b != nil {
			e.deliver(th, m, b)
		}
	}
}

// inRoster reports whether c follows the thread's participants: its IM is
// connected, or it is in the conference (with or without IM).
func (c *appConv) inRoster() bool { return c.msgState == "Connected" || c.state == "Conferenced" }

// announceParticipant tells a connected conversation someone joined; the
// participant's messaging is announced only while c's IM is connected.
func (e *Emulator) announceParticipant(c *appConv, u *user) {
	ph := c.participantHref(u)
	items := []item{convItem(c, obj{"type": "added", "link": obj{"rel": "participant", "href": ph, "title": u.name}})}
	if c.msgState == "Connected" {
		items = append(items, convItem(c, obj{"type": "added", "link": obj{"rel": "participantMessaging", "href": ph + "/messaging"},
			"in": obj{"rel": "participant", "href": ph, "title": u.name}}))
	}
	e.emit(c.app, false, items...)
	c.lastPeer = u
}

// connectConference runs the post-accept sequence of an incoming
// onlineMeetingInvitation: the conversation is Conferenced, the roster is
// announced, the invitation completes; messaging stays Disconnected (with
// addMessaging) until the application joins it.
func (e *Emulator) connectConference(c *appConv) {
	inv := c.inv
	c.state = "Conferenced"
	inv.state, inv.done = "Connected", true
	c.lastPeer = inv.peer
	a := c.app
	items := []item{e.commItem(a, obj{"type": "updated", "link": obj{"rel": "conversation", "href": c.href()},
		"_embedded": obj{"conversation": e.conversationResource(c)}})}
	for _, u := range otherMembers(c) {
		items = append(items, convItem(c, obj{"type": "added", "link": obj{"rel": "participant", "href": c.participantHref(u), "title": u.name},
			"_embedded": obj{"participant": e.participantResource(c, u)}}))
	}
	items = append(items, e.commItem(a, obj{"type": "completed", "status": "Success",
		"link":      obj{"rel": inv.rel(), "href": inv.href()},
		"_embedded": obj{inv.rel(): e.invitationResource(inv)}}))
	e.emit(a, false, items...)
}

// joinConferenceMessaging completes an addMessaging in a Conferenced
// conversation: the conference IM needs nobody's consent, so the outgoing
// invitation succeeds at once. A message it carries goes to the members.
func (e *Emulator) joinConferenceMessaging(inv *invitation, m *member) {
	c := inv.conv
	a := c.app
	c.msgState = "Connected"
	inv.done, inv.state = true, "Connected"
	items := e.messagingConnectedItems(c)
	items = append(items, e.commItem(a, obj{"type": "completed", "status": "Success",
		"link":      obj{"rel": inv.rel(), "href": inv.href()},
		"_embedded": obj{inv.rel(): e.invitationResource(inv)}}))
	e.emit(a, false, items...)
	if inv.first != nil && m != nil {
		e.fanOut(c.th, m, inv.first)
		e.notifyLocked()
	}
}

// messagingConnectedItems are the events an application gets when its
// messaging in c connects: messaging and conversation updated, then
// participantMessaging added for everyone in the conversation. Caller holds
// e.mu.
func (e *Emulator) messagingConnectedItems(c *appConv) []item {
	a := c.app
	items := []item{
		convItem(c, obj{"type": "updated", "link": obj{"rel": "messaging", "href": c.href() + "/messaging"},
			"_embedded": obj{"messaging": e.messagingResource(c)}}),
		e.commItem(a, obj{"type": "updated", "link": obj{"rel": "conversation", "href": c.href()},
			"_embedded": obj{"conversation": e.conversationResource(c)}}),
	}
	for _, u := range append([]*user{a.user}, otherMembers(c)...) {
		ph := c.participantHref(u)
		items = append(items, convItem(c, obj{"type": "added", "link": obj{"rel": "participantMessaging", "href": ph + "/messaging"},
			"in": obj{"rel": "participant", "href": ph, "title": u.name}}))
	}
	return items
}

// connectIncoming runs the post-accept sequence for an application that
// accepted an invitation.
func (e *Emulator) connectIncoming(c *appConv) {
	inv := c.inv
	c.state, c.msgState = "Connected", "Connected"
	inv.state, inv.done = "Connected", true
	c.lastPeer = inv.peer
	a := c.app
	items := e.messagingConnectedItems(c)
	items = append(items, e.commItem(a, obj{"type": "completed", "status": "Success",
		"link": obj{"rel": "messagingInvitation", "href": inv.href()}}))
	e.emit(a, false, items...)
}

// connectOutgoing completes an application's outgoing invitation once by
// accepted.
func (e *Emulator) connectOutgoing(inv *invitation, by *user) {
	c := inv.conv
	a := c.app
	c.state, c.msgState = "Connected", "Connected"
	inv.state, inv.done = "Connected", true
	c.lastPeer = by
	ph := c.participantHref(by)
	e.emit(a, false,
		e.commItem(a, obj{"type": "updated", "link": obj{"rel": "conversation", "href": c.href()},
			"_embedded": obj{"conversation": e.conversationResource(c)}}),
		convItem(c, obj{"type": "added", "link": obj{"rel": "participant", "href": ph, "title": by.name},
			"_embedded": obj{"participant": e.participantResource(c, by)}}),
		convItem(c, obj{"type": "added", "link": obj{"rel": "participantMessaging", "href": ph + "/messaging"},
			"in": obj{"rel": "participant", "href": ph, "title": by.name}}),
		convItem(c, obj{"type": "updated", "link": obj{"rel": "messaging", "href": c.href() + "/messaging"},
			"_embedded": obj{"messaging": e.messagingResource(c)}}),
		e.commItem(a, obj{"type": "completed", "status": "Success", "link": obj{"rel": "messagingInvitation", "href": inv.href()},
			"_embedded": obj{"messagingInvitation": withEmbedded(e.invitationResource(inv), "acceptedByParticipant", []obj{e.participantResource(c, by)})}}),
	)
}

func withEmbedded(res obj, rel string, v any) obj {
	emb, _ := res["_embedded"].(obj)
	if emb == nil {
		emb = obj{}
	}
	emb[rel] = v
	res["_embedded"] = emb
	return res
}

// completeInvitation emits the completed event of an invitation.
func (e *Emulator) completeInvitation(inv *invitation, success bool, code, subcode, message string) {
	if inv.done {
		return
	}
	inv.done = true
	ev := obj{"type": "completed", "link": obj{"rel": inv.rel(), "href": inv.href()}}
	if success {
		inv.state = "Connected"
		ev["status"] = "Success"
	} else {
		inv.state = "Failed"
		ev["status"] = "Failure"
		ev["reason"] = reason(code, subcode, message)
	}
	ev["_embedded"] = obj{inv.rel(): e.invitationResource(inv)}
	e.emit(inv.conv.app, false, e.commItem(inv.conv.app, ev))
}

func (e *Emulator) completeParticipantInvitation(p *participantInvitation, success bool) {
	if p.done || p.conv.deleted {
		return
	}
	p.done = true
	a := p.conv.app
	ev := obj{"type": "completed", "link": obj{"rel": "participantInvitation", "href": a.base() + "/communication/participantInvitations/" + p.id}}
	if success {
		ev["status"] = "Success"
	} else {
		ev["status"] = "Failure"
		ev["reason"] = reason("RemoteFailure", "Declined", "The invitation was not accepted.")
	}
	if id := e.echoOpID(p.opID); id != "" {
		ev["_embedded"] = obj{"participantInvitation": obj{"rel": "participantInvitation", "operationId": id, "to": p.to.sip()}}
	}
	e.emit(a, false, e.commItem(a, ev))
}

// failInvite ends an invitation nobody accepted. Caller holds e.mu.
func (e *Emulator) failInvite(pi *pendingInvite, subcode, message string) {
	th := pi.th
	if th.pending[pi.to.addr] != pi {
		return
	}
	delete(th.pending, pi.to.addr)
	e.cancel(pi.timer)
	for _, inv := range pi.appInvs {
		if !inv.done {
			e.completeInvitation(inv, false, "LocalFailure", subcode, message)
			e.teardown(inv.conv)
		}
	}
	if pi.origin != nil && !pi.origin.done {
		e.completeInvitation(pi.origin, false, "RemoteFailure", subcode, message)
		c := pi.origin.conv
		if c.state != "Connected" && c.state != "Conferenced" {
			e.teardown(c)
			e.removeMember(th, pi.from)
		} else {
			// addMessaging in a live conversation: only messaging closes.
			c.msgState = "Disconnected"
			e.emitMessaging(c)
		}
	}
	if pi.pinv != nil {
		e.completeParticipantInvitation(pi.pinv, false)
	}
	for _, b := range append([]*body{pi.first}, pi.queued...) {
		if b != nil && b.log != nil {
			b.log.Failed = true
		}
	}
	e.endIfEmpty(th)
	e.notifyLocked()
}

func (e *Emulator) emitMessaging(c *appConv) {
	e.emit(c.app, false, convItem(c, obj{"type": "updated", "link": obj{"rel": "messaging", "href": c.href() + "/messaging"},
		"_embedded": obj{"messaging": e.messagingResource(c)}}))
}

// teardown closes an application's conversation with the captured
// sequence: messaging Disconnected, localParticipant deleted, conversation
// deleted. Caller holds e.mu.
func (e *Emulator) teardown(c *appConv) {
	if c.deleted {
		return
	}
	a := c.app
	c.msgState = "Disconnected"
	c.deleted = true
	for _, t := range c.typing {
		e.cancel(t)
	}
	e.emit(a, false,
		convItem(c, obj{"type": "updated", "link": obj{"rel": "messaging", "href": c.href() + "/messaging"},
			"_embedded": obj{"messaging": obj{"rel": "messaging", "state": "Disconnected",
				"_links": obj{"self": link(c.href() + "/messaging"), "conversation": link(c.href())}}}}),
		convItem(c, obj{"type": "deleted", "link": obj{"rel": "localParticipant", "href": c.participantHref(a.user), "title": a.user.name}}),
		e.commItem(a, obj{"type": "deleted", "link": obj{"rel": "conversation", "href": c.href()}}),
	)
	delete(a.convs, c.id)
}

// removeMember takes m out of th and tells the others. In a 1:1 the
// remaining application's messaging disconnects (it may addMessaging).
func (e *Emulator) removeMember(th *thread, m *member) {
	i := slices.Index(th.members, m)
	if i < 0 {
		return
	}
	th.members = slices.Delete(th.members, i, i+1)
	for _, other := range th.members {
		if other.app == nil {
			continue
		}
		c := convOf(other.app, th)
		if c == nil {
			continue
		}
		if t := c.typing[m.user.addr]; t != nil {
			e.cancel(t)
			delete(c.typing, m.user.addr)
		}
		ph := c.participantHref(m.user)
		e.emit(c.app, false, convItem(c, obj{"type": "deleted", "link": obj{"rel": "participant", "href": ph, "title": m.user.name}}))
		if !th.group && len(th.members) == 1 && c.msgState == "Connected" {
			c.msgState = "Disconnected"
			e.emitMessaging(c)
		}
	}
	e.endIfEmpty(th)
}

func (e *Emulator) endIfEmpty(th *thread) {
	if len(th.pending) > 0 {
		return
	}
	live := 0
	for _, m := range th.members {
		if m.app == nil || convOf(m.app, th) != nil {
			live++
		}
	}
	if live <= 1 && !th.group || live == 0 {
		th.ended = true
	}
}

// resetTransient closes all of a's conversations without telling a (the
// server does this before answering with a resume link or deleting the
// application). Caller holds e.mu.
func (e *Emulator) resetTransient(a *application) {
	for _, c := range a.convs {
		c.deleted = true
		for _, t := range c.typing {
			e.cancel(t)
		}
		if c.inv != nil && c.inv.pi != nil && !c.inv.done {
			c.inv.done = true
			pi := c.inv.pi
			if pi.origin == c.inv {
				e.failInvite(pi, "Canceled", "The invitation was canceled.")
			} else if allDone(pi.appInvs) {
				e.failInvite(pi, "Timeout", "The invitation timed out.")
			}
		}
		if m := c.th.memberApp(a); m != nil {
			e.removeMember(c.th, m)
		}
	}
	clear(a.convs)
	for _, qe := range a.queue.pending {
		e.cancel(qe.expiry)
	}
	a.queue.pending = nil
	a.queue.resume = true
}

func allDone(invs []*invitation) bool {
	for _, inv := range invs {
		if !inv.done {
			return false
		}
	}
	return true
}
