package ucwaemu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// InvitePolicy is how an emulated colleague answers invitations from
// applications.
type InvitePolicy int

const (
	// PolicyAccept joins at once (the default).
	PolicyAccept InvitePolicy = iota
	// PolicyDecline refuses at once.
	PolicyDecline
	// PolicyTimeout never answers; the invitation fails after the
	// invitation timeout.
	PolicyTimeout
	// PolicyManual waits for Peer.Accept, Decline or Ignore (or the timeout).
	PolicyManual
)

// Message is one message as the emulator saw it.
type Message struct {
	From        string   // sender SIP URI
	To          []string // recipients it was delivered to
	ThreadID    string
	Subject     string
	Text        string // plain text (derived from HTML when only HTML was sent)
	HTML        string // HTML body, if the sender sent HTML
	OperationID string
	Time        time.Time
	// Failed: not delivered (invitation declined or timed out, or the
	// recipient application did not fetch it in time).
	Failed bool
}

func (m *Message) clone() Message {
	c := *m
	c.To = slices.Clone(m.To)
	return c
}

// Received returns the messages delivered to sip, oldest first.
func (e *Emulator) Received(sip string) []Message {
	return e.messagesOf(sip, func(m *Message, uri string) bool { return slices.Contains(m.To, uri) })
}

// Sent returns the messages sent by sip (through UCWA or as a Peer).
func (e *Emulator) Sent(sip string) []Message {
	return e.messagesOf(sip, func(m *Message, uri string) bool { return m.From == uri })
}

// messagesOf returns copies of the messages for which match(m, sip URI) holds.
func (e *Emulator) messagesOf(sip string, match func(m *Message, uri string) bool) []Message {
	addr, err := normalizeAddr(sip)
	if err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Message
	for _, m := range e.messages {
		if match(m, "sip:"+addr) {
			out = append(out, m.clone())
		}
	}
	return out
}

// TypingCount returns how many typing notifications sip sent.
func (e *Emulator) TypingCount(sip string) int {
	addr, err := normalizeAddr(sip)
	if err != nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.typing["sip:"+addr]
}

// WaitReceived waits until sip has received at least n messages.
func (e *Emulator) WaitReceived(ctx context.Context, sip string, n int) ([]Message, error) {
	var got []Message
	err := e.WaitFor(ctx, func() bool {
		got = e.Received(sip)
		return len(got) >= n
	})
	if err != nil {
		return got, fmt.Errorf("wait for %d messages to %s (have %d): %w", n, sip, len(got), err)
	}
	return got, nil
}

// ThreadInfo describes a conversation thread.
type ThreadInfo struct {
	ID      string
	Subject string
	Members []string // SIP URIs of current participants
	Pending []string // SIP URIs invited but not joined
	// InIM lists the members who receive the thread's IMs: emulated
	// colleagues, and users whose application has messaging connected.
	// An application that accepted a group thread's onlineMeetingInvitation
	// is a member (Conferenced) but is in InIM only after addMessaging.
	InIM  []string
	Group bool
	Ended bool
}

// Thread describes a thread by id.
func (e *Emulator) Thread(id string) (ThreadInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	th, ok := e.threads[id]
	if !ok {
		return ThreadInfo{}, false
	}
	info := ThreadInfo{ID: th.id, Subject: th.subject, Group: th.group, Ended: th.ended}
	for _, m := range th.members {
		info.Members = append(info.Members, m.user.sip())
		if m.app == nil {
			info.InIM = append(info.InIM, m.user.sip())
		} else if c := convOf(m.app, th); c != nil && c.msgState == "Connected" {
			info.InIM = append(info.InIM, m.user.sip())
		}
	}
	for addr := range th.pending {
		info.Pending = append(info.Pending, "sip:"+addr)
	}
	slices.Sort(info.Pending)
	return info, true
}

// Peer drives an emulated colleague.
type Peer struct {
	e    *Emulator
	addr string
}

// Peer returns a handle for the user sip; methods fail if it is unknown.
func (e *Emulator) Peer(sip string) *Peer {
	addr, err := normalizeAddr(sip)
	if err != nil {
		addr = sip
	}
	return &Peer{e: e, addr: addr}
}

// SIP returns the peer's SIP URI.
func (p *Peer) SIP() string { return "sip:" + p.addr }

var (
	errNotMember  = errors.New("ucwaemu: peer is not in that conversation")
	errNoThread   = errors.New("ucwaemu: no such conversation")
	errNoPending  = errors.New("ucwaemu: no invitation waiting for this peer")
	errSelfInvite = errors.New("ucwaemu: a peer cannot message itself")
)

// SendIM sends text to another user, continuing their open one-to-one
// conversation or starting a new one (an invitation carrying the text).
// It returns the thread id.
func (p *Peer) SendIM(to, text string) (string, error) { return p.sendTo(to, &body{text: text}) }

// SendHTML is SendIM with an HTML body.
func (p *Peer) SendHTML(to, html string) (string, error) { return p.sendTo(to, &body{html: html}) }

func (p *Peer) sendTo(to string, b *body) (string, error) {
	e := p.e
	e.mu.Lock()
	defer e.mu.Unlock()
	from, err := e.lookup(p.addr)
	if err != nil {
		return "", err
	}
	target, err := e.lookup(to)
	if err != nil {
		return "", err
	}
	if from == target {
		return "", errSelfInvite
	}
	if th := e.openOneToOne(from, target); th != nil {
		e.say(th, th.member(from), b)
		return th.id, nil
	}
	m := &member{user: from}
	th := e.newThread(m, "", false)
	e.record(th, m, b)
	e.invite(th, m, target, b, "", nil, nil)
	e.notifyLocked()
	return th.id, nil
}

// openOneToOne finds the newest live 1:1 thread where a is a member and b
// is a member or invited. Caller holds e.mu.
func (e *Emulator) openOneToOne(a, b *user) *thread {
	var best *thread
	for _, th := range e.threads {
		if th.ended || th.group || th.member(a) == nil {
			continue
		}
		if th.member(b) == nil && th.pending[b.addr] == nil {
			continue
		}
		if best == nil || th.seq > best.seq {
			best = th
		}
	}
	return best
}

// StartGroup starts a group conversation with members and a first message.
// Invited applications get an onlineMeetingInvitation carrying that message;
// after accepting they must addMessaging to receive later IMs.
func (p *Peer) StartGroup(members []string, subject, text string) (string, error) {
	e := p.e
	e.mu.Lock()
	defer e.mu.Unlock()
	from, err := e.lookup(p.addr)
	if err != nil {
		return "", err
	}
	var targets []*user
	for _, s := range members {
		u, err := e.lookup(s)
		if err != nil {
			return "", err
		}
		if u != from && !slices.Contains(targets, u) {
			targets = append(targets, u)
		}
	}
	if len(targets) == 0 {
		return "", errors.New("ucwaemu: a group needs other members")
	}
	m := &member{user: from}
	th := e.newThread(m, subject, true)
	b := &body{text: text}
	e.record(th, m, b)
	for _, u := range targets {
		e.invite(th, m, u, b, "", nil, nil)
	}
	e.notifyLocked()
	return th.id, nil
}

// inThread resolves the peer and its membership. Caller holds e.mu.
func (p *Peer) inThread(threadID string) (*thread, *member, error) {
	th, ok := p.e.threads[threadID]
	if !ok {
		return nil, nil, errNoThread
	}
	u, err := p.e.lookup(p.addr)
	if err != nil {
		return nil, nil, err
	}
	m := th.member(u)
	if m == nil || th.ended {
		return th, nil, errNotMember
	}
	return th, m, nil
}

// Say sends text into a conversation the peer is in.
func (p *Peer) Say(threadID, text string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	th, m, err := p.inThread(threadID)
	if err != nil {
		return err
	}
	p.e.say(th, m, &body{text: text})
	return nil
}

// Typing shows or clears the peer's typing indication.
func (p *Peer) Typing(threadID string, on bool) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	th, m, err := p.inThread(threadID)
	if err != nil {
		return err
	}
	if on {
		p.e.typing[m.user.sip()]++
	}
	p.e.setTyping(th, m.user, on)
	return nil
}

// Leave takes the peer out of a conversation.
func (p *Peer) Leave(threadID string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	th, m, err := p.inThread(threadID)
	if err != nil {
		return err
	}
	p.e.removeMember(th, m)
	p.e.notifyLocked()
	return nil
}

// AddParticipant invites someone else into the conversation (which
// becomes a group conversation).
func (p *Peer) AddParticipant(threadID, sip string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	th, m, err := p.inThread(threadID)
	if err != nil {
		return err
	}
	u, err := p.e.lookup(sip)
	if err != nil {
		return err
	}
	if th.member(u) != nil || th.pending[u.addr] != nil {
		return fmt.Errorf("ucwaemu: %s is already in the conversation", sip)
	}
	th.group = true
	p.e.invite(th, m, u, nil, "", nil, nil)
	p.e.notifyLocked()
	return nil
}

// SetPolicy sets how the peer answers invitations.
func (p *Peer) SetPolicy(policy InvitePolicy) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	u, err := p.e.lookup(p.addr)
	if err != nil {
		return err
	}
	u.policy = policy
	return nil
}

// SetAutoReply makes the peer answer every message from an application
// with reply(text); an empty answer sends nothing. reply runs with the
// emulator locked and must not call back into it.
func (p *Peer) SetAutoReply(reply func(text string) string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	u, err := p.e.lookup(p.addr)
	if err != nil {
		return err
	}
	u.autoReply = reply
	return nil
}

// pendingFor returns the invitation waiting for the peer in threadID.
// Caller holds e.mu.
func (p *Peer) pendingFor(threadID string) (*pendingInvite, error) {
	th, ok := p.e.threads[threadID]
	if !ok {
		return nil, errNoThread
	}
	pi := th.pending[p.addr]
	if pi == nil || len(pi.appInvs) > 0 {
		return nil, errNoPending
	}
	return pi, nil
}

// Accept joins a conversation the peer was invited to (PolicyManual).
func (p *Peer) Accept(threadID string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	pi, err := p.pendingFor(threadID)
	if err != nil {
		return err
	}
	p.e.join(pi, &member{user: pi.to})
	p.e.notifyLocked()
	return nil
}

// Decline refuses a pending invitation.
func (p *Peer) Decline(threadID string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	pi, err := p.pendingFor(threadID)
	if err != nil {
		return err
	}
	p.e.failInvite(pi, "Declined", "The invitation was declined.")
	return nil
}

// Ignore lets a pending invitation lapse now, exactly as if the invitation
// timeout had passed without an answer.
func (p *Peer) Ignore(threadID string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	pi, err := p.pendingFor(threadID)
	if err != nil {
		return err
	}
	p.e.failInvite(pi, "Timeout", "The invitation timed out.")
	return nil
}

// PendingInvitations lists threads with an invitation waiting for the peer.
func (p *Peer) PendingInvitations() []string {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	var out []string
	for id, th := range p.e.threads {
		if pi := th.pending[p.addr]; pi != nil && len(pi.appInvs) == 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// ThreadWith returns the newest open one-to-one thread between the peer
// and sip, or "".
func (p *Peer) ThreadWith(sip string) string {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	a, err := p.e.lookup(p.addr)
	if err != nil {
		return ""
	}
	b, err := p.e.lookup(sip)
	if err != nil {
		return ""
	}
	if th := p.e.openOneToOne(a, b); th != nil {
		return th.id
	}
	return ""
}
