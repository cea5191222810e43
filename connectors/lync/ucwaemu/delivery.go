package ucwaemu

import "slices"

// say sends b from m to everyone else in th. Caller holds e.mu.
func (e *Emulator) say(th *thread, from *member, b *body) {
	e.record(th, from, b)
	if from.app != nil {
		if c := convOf(from.app, th); c != nil {
			c.msgSeq++
			e.emit(c.app, false, convItem(c, e.messageEvent(c, c.msgSeq, "completed", e.messageResource(c, c.msgSeq, b, false))))
		}
	}
	e.fanOut(th, from, b)
	e.notifyLocked()
}

// fanOut delivers the recorded b to every member but from and queues it for
// pending invitees. Caller holds e.mu.
func (e *Emulator) fanOut(th *thread, from *member, b *body) {
	for _, pi := range th.pending {
		if pi.first != b {
			pi.queued = append(pi.queued, b)
		}
	}
	for _, m := range slices.Clone(th.members) {
		if m != from {
			e.deliver(th, m, b)
		}
	}
}

// record stamps b and adds it to the message log. Caller holds e.mu.
func (e *Emulator) record(th *thread, from *member, b *body) {
	b.from, b.when = from, e.opts.Clock.Now()
	b.log = &Message{From: from.user.sip(), ThreadID: th.id, Subject: th.subject, Text: b.plain(), HTML: b.html, OperationID: b.opID, Time: b.when}
	e.messages = append(e.messages, b.log)
}

// deliver hands b to one member. Caller holds e.mu.
func (e *Emulator) deliver(th *thread, m *member, b *body) {
	if m.app == nil {
		b.log.To = append(b.log.To, m.user.sip())
		if m.user.autoReply != nil && b.from.app != nil {
			if reply := m.user.autoReply(b.log.Text); reply != "" {
				e.say(th, m, &body{text: reply})
			}
		}
		return
	}
	c := convOf(m.app, th)
	if c == nil || c.msgState != "Connected" {
		return
	}
	c.msgSeq++
	b.log.To = append(b.log.To, m.user.sip())
	qs := e.emit(c.app, false, convItem(c, e.messageEvent(c, c.msgSeq, e.opts.MessageEventType, e.messageResource(c, c.msgSeq, b, true))))
	if len(qs) == 1 && slices.Contains(c.app.queue.pending, qs[0]) {
		qe, a, log := qs[0], c.app, b.log
		// An IM the application does not fetch in time is lost and its
		// sender learns it was not delivered.
		qe.expiry = e.after(e.opts.InvitationTimeout, func() {
			if i := slices.Index(a.queue.pending, qe); i >= 0 {
				a.queue.pending = slices.Delete(a.queue.pending, i, i+1)
				log.Failed = true
			}
		})
	}
}

// setTyping shows or clears u's typing indication in every other
// application in th. Indications lapse after TypingTimeout.
func (e *Emulator) setTyping(th *thread, u *user, on bool) {
	for _, m := range th.members {
		if m.app == nil || m.user == u {
			continue
		}
		c := convOf(m.app, th)
		if c == nil || c.msgState != "Connected" {
			continue
		}
		ph := c.participantHref(u)
		ev := obj{"link": obj{"rel": "participant", "href": ph, "title": u.name},
			"in": obj{"rel": "typingParticipants", "href": c.href() + "/messaging/typingParticipants"}}
		t, active := c.typing[u.addr]
		switch {
		case on && active:
			e.cancel(t)
		case on:
			ev["type"] = "added"
			e.emit(c.app, false, convItem(c, ev))
		case active:
			e.cancel(t)
			delete(c.typing, u.addr)
			ev["type"] = "deleted"
			e.emit(c.app, false, convItem(c, ev))
			continue
		default:
			continue
		}
		c.typing[u.addr] = e.after(e.opts.TypingTimeout, func() {
			delete(c.typing, u.addr)
			if !c.deleted {
				ev["type"] = "deleted"
				e.emit(c.app, false, convItem(c, ev))
			}
		})
	}
	e.notifyLocked()
}
