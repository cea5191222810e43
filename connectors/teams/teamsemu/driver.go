package teamsemu

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
)

// TypingEvent records a typing notification someone sent.
type TypingEvent struct {
	From, Conversation string
	Clear              bool
}

// ReadEvent records a consumption-horizon update.
type ReadEvent struct {
	Reader, Conversation, Horizon string
}

// Message is a driver's view of a stored message.
type Message struct {
	ID              string
	Conversation    string
	Root            string // channel reply chain root ("" in chats)
	From            string
	DisplayName     string
	ClientMessageID string
	MessageType     string
	Content         string
	Properties      map[string]any
	AMSReferences   []string
	Edited, Deleted bool
	Reactions       map[string][]string // key → MRIs
}

func (e *Emulator) driverView(c *conv, m *message) Message {
	v := Message{ID: strconv.FormatInt(m.id, 10), Conversation: c.publicID(), From: m.from, DisplayName: m.name,
		ClientMessageID: m.cmid, MessageType: m.mtype, Content: m.content, Properties: m.props,
		AMSReferences: m.amsrefs, Edited: m.editTime != 0, Deleted: m.deleteTime != 0, Reactions: map[string][]string{}}
	if c.isChannel() && m.root != m.id {
		v.Root = strconv.FormatInt(m.root, 10)
	}
	for _, em := range emotionsView(m.emotions) {
		for _, u := range em["users"].([]map[string]any) {
			v.Reactions[em["key"].(string)] = append(v.Reactions[em["key"].(string)], u["mri"].(string))
		}
	}
	return v
}

func (e *Emulator) convLocked(id string) *conv {
	cid, _, _ := strings.Cut(id, ";")
	c := e.convs[cid]
	if c == nil {
		panic(fmt.Sprintf("teamsemu: unknown conversation %q", id))
	}
	return c
}

// CreateGroup creates a group chat; the creator and members are all in it.
func (e *Emulator) CreateGroup(creator, topic string, members ...string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ms := map[string]string{e.mustUser(creator).MRI: "Admin"}
	for _, m := range members {
		ms[e.mustUser(m).MRI] = "User"
	}
	return e.newThreadLocked(e.mustUser(creator).MRI, ms, topic, false, "chat").id
}

// CreateMeetingChat creates the chat of a scheduled meeting
// ("19:meeting_<id>@thread.v2", threadType meeting): the organizer and the
// invitees are in it, and topic is the meeting's subject.
func (e *Emulator) CreateMeetingChat(organizer, topic string, invitees ...string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ms := map[string]string{e.mustUser(organizer).MRI: "Admin"}
	for _, m := range invitees {
		ms[e.mustUser(m).MRI] = "User"
	}
	return e.newThreadLocked(e.mustUser(organizer).MRI, ms, topic, false, "meeting").id
}

// OneToOne returns the 1:1 chat of a and b, creating it: work pairs get the
// @unq.gbl.spaces id, consumer pairs a unique-roster thread.
func (e *Emulator) OneToOne(a, b string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ua, ub := e.mustUser(a), e.mustUser(b)
	for _, c := range e.convs {
		if c.oneToOne && c.isMember(ua.MRI) && c.isMember(ub.MRI) {
			return c.id
		}
	}
	members := map[string]string{ua.MRI: "Admin", ub.MRI: "Admin"}
	if !ua.Consumer && !ub.Consumer {
		x, y := ua.OID, ub.OID
		if x > y {
			x, y = y, x
		}
		c := &conv{id: "19:" + x + "_" + y + "@unq.gbl.spaces", threadType: "chat", oneToOne: true, members: members, horizons: map[string]string{}, creator: ua.MRI}
		c.created = e.touchLocked(c)
		e.convs[c.id] = c
		return c.id
	}
	return e.newThreadLocked(ua.MRI, members, "", true, "chat").id
}

// Team is a created team.
type Team struct {
	// ID is the team's root thread (threadType space), which is also its
	// General channel: General's posts are the root thread's messages.
	ID       string
	Channels []string // General (= ID) first
}

// CreateTeam creates a team whose channels all have the given members.
func (e *Emulator) CreateTeam(owner, name string, channels []string, members ...string) Team {
	e.mu.Lock()
	defer e.mu.Unlock()
	ms := map[string]string{e.mustUser(owner).MRI: "Admin"}
	for _, m := range members {
		ms[e.mustUser(m).MRI] = "User"
	}
	copyMembers := func() map[string]string {
		out := map[string]string{}
		for k, v := range ms {
			out[k] = v
		}
		return out
	}
	root := e.newThreadLocked(e.mustUser(owner).MRI, copyMembers(), name, false, "space")
	root.team, root.general = root.id, true
	t := Team{ID: root.id, Channels: []string{root.id}}
	for _, ch := range channels {
		c := e.newThreadLocked(e.mustUser(owner).MRI, copyMembers(), ch, false, "topic")
		c.team = root.id
		t.Channels = append(t.Channels, c.id)
	}
	return t
}

// SendOptions tunes a driver send.
type SendOptions struct {
	MessageType string // default RichText/Html
	// Mentions maps span itemid order to MRIs; the driver builds the spans'
	// properties.mentions entry for each.
	Mentions        []string
	ClientMessageID string
	Properties      map[string]any
	AMSReferences   []string
}

// Send makes user from post content (HTML) into conversation conv (a chat,
// a channel, or "<channel>;messageid=<root>" for a reply) and returns the
// new message id.
func (e *Emulator) Send(from, convID, content string) string {
	return e.SendWith(from, convID, content, SendOptions{})
}

// SendText posts plain text as RichText/Html, escaped.
func (e *Emulator) SendText(from, convID, text string) string {
	return e.Send(from, convID, "<p>"+strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")+"</p>")
}

// SendWith posts with options.
func (e *Emulator) SendWith(from, convID, content string, o SendOptions) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(from)
	c := e.convLocked(convID)
	_, root := e.resolveConvLocked(u, convID)
	m := &message{id: e.nextIDLocked(), cmid: firstNonEmpty(o.ClientMessageID, strconv.FormatInt(time.Now().UnixNano(), 10)),
		from: u.MRI, name: u.Name, mtype: firstNonEmpty(o.MessageType, "RichText/Html"), ctype: "text", content: content,
		props: map[string]any{}, amsrefs: o.AMSReferences}
	m.version = m.id
	m.seq = int64(len(c.messages) + 1)
	for k, v := range o.Properties {
		m.props[k] = v
	}
	if len(o.Mentions) > 0 {
		var entries []string
		for i, mri := range o.Mentions {
			name := mri
			if mu := e.users[mri]; mu != nil {
				name = mu.Name
			}
			entries = append(entries, fmt.Sprintf(`{"@type":"http://schema.skype.com/Mention","itemid":%d,"mri":%q,"mentionType":"person","displayName":%q}`, i, mri, name))
		}
		m.props["mentions"] = "[" + strings.Join(entries, ",") + "]"
	}
	if c.isChannel() {
		m.root = root
		if root == 0 {
			m.root = m.id
		}
	}
	e.appendLocked(c, m)
	return strconv.FormatInt(m.id, 10)
}

func (e *Emulator) msgLocked(convID, id string) (*conv, *message) {
	c := e.convLocked(convID)
	n, _ := strconv.ParseInt(id, 10, 64)
	m := c.find(n)
	if m == nil {
		panic(fmt.Sprintf("teamsemu: unknown message %s in %s", id, convID))
	}
	return c, m
}

// Edit makes the sender replace a message's content.
func (e *Emulator) Edit(convID, id, content string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.msgLocked(convID, id)
	e.editLocked(c, m, content, "")
}

// Delete deletes a message.
func (e *Emulator) Delete(convID, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.msgLocked(convID, id)
	e.deleteLocked(c, m)
}

// React makes who add (or with Unreact remove) a reaction.
func (e *Emulator) React(who, convID, id, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.msgLocked(convID, id)
	e.reactLocked(c, m, e.mustUser(who), key, true)
}

// Unreact removes who's reaction.
func (e *Emulator) Unreact(who, convID, id, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.msgLocked(convID, id)
	e.reactLocked(c, m, e.mustUser(who), key, false)
}

// Read moves who's read marker to message id.
func (e *Emulator) Read(who, convID, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m := e.msgLocked(convID, id)
	e.setHorizonLocked(e.mustUser(who), c, fmt.Sprintf("%d;%d;%s", m.id, e.now().UnixMilli(), firstNonEmpty(m.cmid, strconv.FormatInt(m.id, 10))))
}

// Typing makes who type in a conversation.
func (e *Emulator) Typing(who, convID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(who)
	c := e.convLocked(convID)
	now := e.now().UnixMilli()
	e.fanOutLocked(c, "NewMessage", &message{id: now, version: now, mtype: "Control/Typing", ctype: "Application/Message", from: u.MRI, name: u.Name}, u.MRI)
}

// AddMember, RemoveMember and SetTopic change a thread as initiator.
func (e *Emulator) AddMember(initiator, convID, who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addMemberLocked(e.convLocked(convID), e.mustUser(initiator).MRI, e.mustUser(who).MRI, "User")
}

// RemoveMember removes who from a thread.
func (e *Emulator) RemoveMember(initiator, convID, who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.removeMemberLocked(e.convLocked(convID), e.mustUser(initiator).MRI, e.mustUser(who).MRI)
}

// SetTopic renames a thread.
func (e *Emulator) SetTopic(initiator, convID, topic string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setTopicLocked(e.convLocked(convID), e.mustUser(initiator).MRI, topic)
}

// Messages lists a conversation's messages, oldest first (typing excluded).
func (e *Emulator) Messages(convID string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convLocked(convID)
	var out []Message
	for _, m := range c.messages {
		out = append(out, e.driverView(c, m))
	}
	return out
}

// MessagesFrom lists what user from sent anywhere, oldest first: "what did
// the bridge user send".
func (e *Emulator) MessagesFrom(from string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(from).MRI
	var out []Message
	for _, c := range e.convs {
		for _, m := range c.messages {
			if m.from == mri && !strings.HasPrefix(m.mtype, "ThreadActivity/") {
				out = append(out, e.driverView(c, m))
			}
		}
	}
	sortMessages(out)
	return out
}

func sortMessages(ms []Message) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].ID < ms[j-1].ID; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// Members lists a thread's member MRIs with roles.
func (e *Emulator) Members(convID string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for k, v := range e.convLocked(convID).members {
		out[k] = v
	}
	return out
}

// Topic is a thread's topic.
func (e *Emulator) Topic(convID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.convLocked(convID).topic
}

// Horizon is who's consumption horizon in a conversation ("" if none).
func (e *Emulator) Horizon(who, convID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.convLocked(convID).horizons[e.mustUser(who).MRI]
}

// TypingEvents lists typing notifications users sent through the API.
func (e *Emulator) TypingEvents() []TypingEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]TypingEvent(nil), e.typing...)
}

// Conversations lists the ids of who's conversations (system feeds included).
func (e *Emulator) Conversations(who string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	var out []string
	for _, c := range e.convs {
		if c.isMember(mri) {
			out = append(out, c.publicID())
		}
	}
	return out
}

// Object returns an uploaded AMS object's content for a view name.
func (e *Emulator) Object(id, name string) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.objects[id]
	if o == nil {
		return nil, false
	}
	b, ok := o.content[name]
	return b, ok
}

// ObjectType is the AMS type an object was created with ("" if none).
func (e *Emulator) ObjectType(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if o := e.objects[id]; o != nil {
		return o.typ
	}
	return ""
}

// TrouterStats describes a user's push endpoints.
type TrouterStats struct {
	Endpoints  int
	Connected  int      // endpoints with an authenticated socket
	Registered int      // endpoints whose CDL worker is registered for the current surl
	Templates  []string // registered template keys
	Delivered  int      // delivery frames sent (retries included)
	Acked      int
	Pending    int
	Connects   int // authenticated connections over time
	EPIDs      []string
}

// Trouter reports a user's Trouter state.
func (e *Emulator) Trouter(who string) TrouterStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	var st TrouterStats
	for _, ep := range e.eps {
		if ep.user.MRI != mri {
			continue
		}
		st.Endpoints++
		st.EPIDs = append(st.EPIDs, ep.epid)
		if ep.sess != nil && ep.sess.authd && !ep.sess.dead {
			st.Connected++
		}
		if ep.registeredForMessaging() {
			st.Registered++
		}
		for _, r := range ep.registrations {
			st.Templates = append(st.Templates, r.TemplateKey)
		}
		st.Delivered += ep.delivered
		st.Acked += ep.acked
		st.Pending += len(ep.pending)
		st.Connects += ep.connects
	}
	return st
}

// DropTrouter cuts who's sockets: reset (no close frame) or a clean close.
func (e *Emulator) DropTrouter(who string, clean bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	mode := closeReset
	if clean {
		mode = closeClean
	}
	for _, ep := range e.eps {
		if ep.user.MRI == mri && ep.sess != nil {
			ep.sess.closeLocked(mode)
		}
	}
}

// HoldDeliveries makes the server swallow who's deliveries until
// ReleaseWithLoss, as when a Trouter front end loses its buffer.
func (e *Emulator) HoldDeliveries(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	for _, ep := range e.eps {
		if ep.user.MRI == mri {
			ep.hold = true
		}
	}
}

// ReleaseWithLoss ends HoldDeliveries: the held deliveries are dropped and a
// trouter.message_loss notice is sent; it returns how many were dropped.
func (e *Emulator) ReleaseWithLoss(who string) int {
	n := e.DropHeldDeliveries(who)
	e.SendMessageLoss(who)
	return n
}

// DropHeldDeliveries ends HoldDeliveries without a word to the client: the
// held deliveries are dropped and later ones flow again. The
// trouter.message_loss notice follows only with SendMessageLoss, as when a
// front end notices its loss after later deliveries went out. It returns how
// many were dropped.
func (e *Emulator) DropHeldDeliveries(who string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	n := 0
	for _, ep := range e.eps {
		if ep.user.MRI == mri {
			ep.hold = false
			n += ep.held
			ep.held = 0
		}
	}
	return n
}

// SendMessageLoss sends who's endpoints a trouter.message_loss notice now
// (or on their next connection).
func (e *Emulator) SendMessageLoss(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	for _, ep := range e.eps {
		if ep.user.MRI == mri {
			e.sendLossLocked(ep)
		}
	}
}

// LoseNextAck makes the server ignore the next n acks from who, so those
// deliveries are sent again.
func (e *Emulator) LoseNextAck(who string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	for _, ep := range e.eps {
		if ep.user.MRI == mri {
			ep.loseAcks += n
		}
	}
}

// MutePongs makes the server stop (or resume) answering who's pings, as a
// half-dead socket does.
func (e *Emulator) MutePongs(who string, mute bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mri := e.mustUser(who).MRI
	for _, ep := range e.eps {
		if ep.user.MRI == mri {
			ep.mutePongs = mute
		}
	}
}

// UploadObject stores an AMS object as owner, readable in convID, with its
// content under the "imgpsh" (images) or "original" view, and returns its id:
// what the Teams client does before it sends an image or file.
func (e *Emulator) UploadObject(owner, convID, typ, filename, mime string, data []byte) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	view := "original"
	if typ == "pish/image" {
		view = "imgpsh"
	}
	o := &amsObject{id: "0-weu-d1-" + randHex(16), owner: e.mustUser(owner), typ: typ, filename: filename,
		perms: map[string][]string{convID: {"read"}}, content: map[string][]byte{view: data}, mime: map[string]string{view: mime}}
	e.objects[o.id] = o
	e.broadcast()
	return o.id
}
