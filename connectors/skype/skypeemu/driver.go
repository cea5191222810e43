package skypeemu

import (
	"sort"
	"strconv"
	"strings"
)

// Test driver: what other people do, and what the bridge user did.

// Message is a stored message as a test sees it.
type Message struct {
	ID              string
	ClientMessageID string
	From            string
	Type            string
	Content         string
	Edited          bool
	Deleted         bool
	// EditedID is set on the records Skype emits for edits (skypeeditedid).
	EditedID string
	AMSRefs  []string
	// HasMentions and EmoteOffset are the send-side fields as sent.
	HasMentions string
	EmoteOffset string
}

// TypingEvent is a typing indicator someone sent.
type TypingEvent struct {
	From, Conv string
	Stop       bool
	// ContentType and ClientMessageID are as sent (skpy: "text" and an id).
	ContentType     string
	ClientMessageID string
}

func view(m *message) Message {
	return Message{ID: strconv.FormatInt(m.id, 10), ClientMessageID: m.cmid, From: m.from, Type: m.mtype, Content: m.content,
		Edited: m.edited > 0, Deleted: m.deleted > 0, EditedID: m.editedID, AMSRefs: m.amsrefs,
		HasMentions: m.hasMentions, EmoteOffset: m.emote}
}

// convLocked finds a conversation by thread id, or a 1:1 by "<a>|<b>" /
// the pair given as (viewer, other).
func (e *Emulator) convFor(viewer, id string) *conv {
	if strings.HasPrefix(id, "19:") {
		return e.convs[id]
	}
	return e.convs[oneToOneKey(mri(viewer), mri(id))]
}

func mri(s string) string {
	if strings.Contains(s, ":") && !strings.HasPrefix(s, "live:") {
		return s
	}
	return "8:" + s
}

// OneToOne opens the 1:1 chat of a and b (Skype names or MRIs).
func (e *Emulator) OneToOne(a, b string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resolveLocked(e.mustUser(a), mri(b), true)
}

// CreateGroup creates a group thread and returns its id.
func (e *Emulator) CreateGroup(creator, topic string, members ...string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ms := map[string]string{mri(creator): "Admin"}
	for _, m := range members {
		ms[mri(m)] = "User"
	}
	return e.newThreadLocked(mri(creator), ms, topic).thread
}

// SetGroupPicture stores data as an ASM avatar object readable by the
// group's members and sets the thread's picture property to it
// ("URL@<object>/views/avatar_fullsize", as the service does); it returns
// the object id.
func (e *Emulator) SetGroupPicture(thread string, data []byte) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convs[thread]
	if c == nil {
		panic("skypeemu: no group " + thread)
	}
	o := &object{id: "0-weu-d1-" + randHex(16), typ: "avatar/group", owner: c.creator, readers: map[string]bool{}, content: map[string][]byte{"original": data}}
	for m := range c.members {
		o.readers[m] = true
	}
	e.objects[o.id] = o
	c.props["picture"] = "URL@" + e.srv.URL + "/v1/objects/" + o.id + "/views/avatar_fullsize"
	e.threadUpdateLocked(c)
	return o.id
}

// Send posts a RichText message from `from` into conv (a thread id, or the
// other person of a 1:1) and returns its id.
func (e *Emulator) Send(from, conv, content string) string {
	return e.SendTyped(from, conv, "RichText", content)
}

// SendTyped posts a message of any messagetype.
func (e *Emulator) SendTyped(from, conv, mtype, content string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(from)
	c := e.resolveLocked(u, mri(conv), true)
	if c == nil {
		panic("skypeemu: no conversation " + conv)
	}
	m := &message{id: e.nextIDLocked(), cmid: strconv.FormatInt(e.lastMsgID, 10) + "1", from: u.MRI(), name: u.DisplayName, mtype: mtype, ctype: "text", content: content}
	m.version, m.compose = m.id, m.id
	e.appendLocked(c, m)
	return strconv.FormatInt(m.id, 10)
}

// SendMalformed posts a RichText message whose JSON has the given fields
// replaced (a number for content, a word for originalarrivaltime...), in
// events and in history alike.
func (e *Emulator) SendMalformed(from, conv, content string, fields map[string]any) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(from)
	c := e.resolveLocked(u, mri(conv), true)
	if c == nil {
		panic("skypeemu: no conversation " + conv)
	}
	m := &message{id: e.nextIDLocked(), cmid: strconv.FormatInt(e.lastMsgID, 10) + "1", from: u.MRI(), name: u.DisplayName, mtype: "RichText", ctype: "text", content: content, override: fields}
	m.version, m.compose = m.id, m.id
	e.appendLocked(c, m)
	return strconv.FormatInt(m.id, 10)
}

func (e *Emulator) findLocked(viewer, conv, id string) (*conv, *message) {
	c := e.convFor(viewer, conv)
	if c == nil {
		panic("skypeemu: no conversation " + conv)
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	m := c.find(n)
	if m == nil {
		panic("skypeemu: no message " + id)
	}
	return c, m
}

// Edit changes a message's content as its sender (emits the skypeeditedid form).
func (e *Emulator) Edit(from, conv, id, content string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.findLocked(from, conv, id)
	e.editLocked(c, m, e.mustUser(from), content)
}

// Delete deletes a message as its sender.
func (e *Emulator) Delete(from, conv, id string) {
	e.Edit(from, conv, id, "")
}

// Typing makes who type in conv.
func (e *Emulator) Typing(who, conv string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(who)
	c := e.resolveLocked(u, mri(conv), true)
	m := &message{id: e.nextIDLocked(), from: u.MRI(), name: u.DisplayName, mtype: "Control/Typing", ctype: "Application/Message"}
	m.version, m.compose = m.id, m.id
	var others []*User
	for _, o := range e.membersLocked(c) {
		if o != u {
			others = append(others, o)
		}
	}
	e.fanOutLocked(others, "NewMessage", func(v *User) (string, map[string]any, int64) {
		return e.msgLink(c, m, v), e.messageView(c, m, v), 0
	})
}

// Read moves who's read marker to message id in conv.
func (e *Emulator) Read(who, conv, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.findLocked(who, conv, id)
	ref := m.cmid
	if ref == "" {
		ref = strconv.FormatInt(m.id, 10) // what skypeweb writes
	}
	e.setHorizonLocked(e.mustUser(who), c, ref+";"+strconv.FormatInt(e.now().UnixMilli(), 10)+";"+ref)
}

// AddMember adds who to a group as initiator.
func (e *Emulator) AddMember(initiator, thread, who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addMemberLocked(e.convs[thread], mri(initiator), mri(who), "User")
}

// RemoveMember removes who from a group.
func (e *Emulator) RemoveMember(initiator, thread, who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.removeMemberLocked(e.convs[thread], mri(initiator), mri(who))
}

// SetTopic renames a group.
func (e *Emulator) SetTopic(initiator, thread, topic string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setTopicLocked(e.convs[thread], mri(initiator), topic)
}

// OmitThreadMembers makes every thread answer (GET and ThreadUpdate) leave
// its member list out, or puts it back.
func (e *Emulator) OmitThreadMembers(omit bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.omitMembers = omit
}

// OmitNextResources sends the next n message events without their
// resource, so a client must read each message from its resourceLink.
func (e *Emulator) OmitNextResources(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.omitResources = n
}

// SetStatus changes who's presence.
func (e *Emulator) SetStatus(who, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setStatusLocked(e.mustUser(who), status)
}

// AddContact makes a and b contacts of each other.
func (e *Emulator) AddContact(a, b string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ua, ub := e.mustUser(a), e.mustUser(b)
	ua.contacts = append(ua.contacts, ub.MRI())
	ub.contacts = append(ub.contacts, ua.MRI())
}

// InviteContact makes from ask to for a contact.
func (e *Emulator) InviteContact(from, to string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustUser(to).invites = append(e.mustUser(to).invites, e.mustUser(from).MRI())
}

// Messages lists a conversation's messages oldest first (viewer names the
// 1:1 side; ignored for threads), edit records included.
func (e *Emulator) Messages(viewer, conv string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convFor(viewer, conv)
	if c == nil {
		return nil
	}
	var out []Message
	for _, m := range c.messages {
		if !strings.HasPrefix(strings.ToLower(m.mtype), "control/") {
			out = append(out, view(m))
		}
	}
	return out
}

// SentBy lists what a user sent anywhere (original messages, not edit
// records), oldest first: "what did the bridge user send".
func (e *Emulator) SentBy(who string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	from := mri(who)
	var out []Message
	for _, c := range e.convs {
		for _, m := range c.messages {
			if m.from == from && m.editedID == "" && !strings.HasPrefix(strings.ToLower(m.mtype), "control/") && !strings.HasPrefix(m.mtype, "ThreadActivity/") {
				out = append(out, view(m))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Members lists a group's members and roles.
func (e *Emulator) Members(thread string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	if c := e.convs[thread]; c != nil {
		for k, v := range c.members {
			out[k] = v
		}
	}
	return out
}

// Topic is a group's topic.
func (e *Emulator) Topic(thread string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.convs[thread]; c != nil {
		return c.topic
	}
	return ""
}

// ThreadProperty is one of a group's other properties.
func (e *Emulator) ThreadProperty(thread, name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.convs[thread]; c != nil {
		return c.props[name]
	}
	return ""
}

// Horizon is who's consumption horizon in conv.
func (e *Emulator) Horizon(who, conv string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convFor(who, conv)
	if c == nil {
		return ""
	}
	return e.mustUser(who).horizons[c.key]
}

// TypingEvents lists typing indicators sent through the API.
func (e *Emulator) TypingEvents() []TypingEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]TypingEvent(nil), e.typing...)
}

// Object returns an uploaded ASM object's content and file name.
func (e *Emulator) Object(id string) (data []byte, filename string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.objects[id]
	if o == nil {
		return nil, "", false
	}
	for _, d := range o.content {
		return d, o.filename, true
	}
	return nil, o.filename, true
}

// Status is who's presence.
func (e *Emulator) Status(who string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mustUser(who).Status
}

// Mood is who's mood text.
func (e *Emulator) Mood(who string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mustUser(who).Mood
}

// EndpointStats describes a user's endpoints.
type EndpointStats struct {
	Registrations int // endpoints ever registered
	Live          int // endpoints not dropped
	Subscribed    int
	Polls         int
	Pings         int
	Pending       int // queued, un-acked events
	PresenceDocs  int
	OnAltHost     bool
}

// Endpoints reports who's endpoint state.
func (e *Emulator) Endpoints(who string) EndpointStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(who)
	st := EndpointStats{Registrations: u.regCount, OnAltHost: u.altHost}
	for _, ep := range u.endpoints {
		st.Polls += ep.polls
		st.Pings += ep.pings
		if ep.gone {
			continue
		}
		st.Live++
		if ep.subscribed {
			st.Subscribed++
		}
		if ep.presence {
			st.PresenceDocs++
		}
		for _, ev := range ep.queue {
			if !ev.acked {
				st.Pending++
			}
		}
	}
	return st
}

// Faults.

// ExpireSkypeTokens makes every skypetoken of who invalid.
func (e *Emulator) ExpireSkypeTokens(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(who)
	for _, t := range e.tokens {
		if t.user == u {
			t.revoked = true
		}
	}
}

// ExpireRegistrations makes who's registration tokens answer 401 (the
// endpoints stay, like a token past its expires=).
func (e *Emulator) ExpireRegistrations(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(who)
	for tok, ep := range e.regs {
		if ep.user == u {
			delete(e.regs, tok)
		}
	}
}

// DropEndpoints forgets who's endpoints: calls answer errorCode 729 and a
// held poll ends with it; queued events are lost with them.
func (e *Emulator) DropEndpoints(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ep := range e.mustUser(who).endpoints {
		ep.gone = true
		ep.queue = nil
		ep.wake()
	}
}

// DropSubscriptions forgets who's subscriptions: polls answer errorCode 450.
func (e *Emulator) DropSubscriptions(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ep := range e.mustUser(who).endpoints {
		ep.subscribed = false
		ep.queue = nil
		ep.wake()
	}
}

// RedirectMessaging makes who's next registration on the main host answer
// 404 + Location to the alternate host, where their messaging then lives.
func (e *Emulator) RedirectMessaging(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustUser(who).redirect++
}

// MoveMessaging moves who's messaging to the alternate host mid-session:
// calls on the old host answer 404 + Location, and so does a registration
// there.
func (e *Emulator) MoveMessaging(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(who)
	u.altHost = true
	for _, ep := range u.endpoints {
		ep.wake()
	}
}

// DropNextPolls cuts the connection of who's next n polls after taking the
// queued events off the queue as if sent (they come back as un-acked).
func (e *Emulator) DropNextPolls(who string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ep := range e.mustUser(who).endpoints {
		ep.dropPolls += n
	}
}

// LoseNextAcks makes the acks of the next n events queued for who get lost,
// so those events are delivered a second time.
func (e *Emulator) LoseNextAcks(who string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ep := range e.mustUser(who).endpoints {
		ep.lostAcks += n
	}
}
