package teamsemu

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

type conv struct {
	id         string
	threadType string // chat, meeting, topic (channel), space (team root), streamofnotes
	topic      string
	oneToOne   bool
	members    map[string]string // MRI → role
	messages   []*message        // ascending id
	horizons   map[string]string // MRI → consumption horizon
	version    int64
	changed    int64 // ms of last change
	creator    string
	created    int64
	team       string // channels: the team's root thread id (the root's own id for the root)
	general    bool   // the team's General channel: the root thread itself
}

// isChannel reports a team channel, reply chains and all: a topic thread, or
// the team's root (space) thread, which is its General channel.
func (c *conv) isChannel() bool { return c.threadType == "topic" || c.threadType == "space" }

type emotion struct {
	key, mri string
	time     int64
	value    string
}

type message struct {
	id, version, seq int64
	cmid             string
	from, name       string
	mtype, ctype     string
	content          string
	props            map[string]any
	emotions         []emotion // history, newest last
	editTime         int64
	deleteTime       int64
	root             int64 // channel reply chain root (== id for a root)
	amsrefs          []string
	skypeEditedID    string
}

func (c *conv) isMember(mri string) bool { _, ok := c.members[mri]; return ok }

func (c *conv) find(id int64) *message {
	i := sort.Search(len(c.messages), func(i int) bool { return c.messages[i].id >= id })
	if i < len(c.messages) && c.messages[i].id == id {
		return c.messages[i]
	}
	return nil
}

func (c *conv) byClientID(from, cmid string) *message {
	if cmid == "" {
		return nil
	}
	for i := len(c.messages) - 1; i >= 0; i-- {
		if m := c.messages[i]; m.cmid == cmid && m.from == from {
			return m
		}
	}
	return nil
}

// nextIDLocked gives a new message id: the arrival time in ms, strictly
// increasing so ids stay unique and ordered.
func (e *Emulator) nextIDLocked() int64 {
	id := e.now().UnixMilli()
	if id <= e.lastMsgID {
		id = e.lastMsgID + 1
	}
	e.lastMsgID = id
	return id
}

func (e *Emulator) touchLocked(c *conv) int64 {
	v := e.nextIDLocked()
	c.version, c.changed = v, v
	return v
}

func msTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func (e *Emulator) convLink(id string) string {
	return e.base + "/v1/users/ME/conversations/" + escapeID(id)
}

func escapeID(id string) string {
	return strings.NewReplacer(":", "%3A", "@", "%40", ";", "%3B", "=", "%3D").Replace(url.PathEscape(id))
}

// publicID is the id a conversation has on the wire (48:notes is per user).
func (c *conv) publicID() string { return c.id }

// view renders m as the service returns it.
func (e *Emulator) messageView(c *conv, m *message) map[string]any {
	convID := c.publicID()
	link := convID
	if c.isChannel() && m.root != 0 {
		link = convID + ";messageid=" + strconv.FormatInt(m.root, 10)
	}
	props := map[string]any{}
	for k, v := range m.props {
		props[k] = v
	}
	if m.editTime != 0 {
		props["edittime"] = strconv.FormatInt(m.editTime, 10)
	}
	if m.deleteTime != 0 {
		props["deletetime"] = strconv.FormatInt(m.deleteTime, 10)
	}
	if len(m.emotions) > 0 {
		props["emotions"] = emotionsView(m.emotions)
	}
	v := map[string]any{
		"id": strconv.FormatInt(m.id, 10), "sequenceId": m.seq, "version": strconv.FormatInt(m.version, 10),
		"conversationid": convID, "conversationLink": e.base + "/v1/users/ME/conversations/" + link,
		"type": "Message", "messagetype": m.mtype, "contenttype": m.ctype, "content": m.content,
		"from": e.base + "/v1/users/ME/contacts/" + m.from, "imdisplayname": m.name,
		"composetime": msTime(m.id), "originalarrivaltime": msTime(m.id), "properties": props,
		"amsreferences": append([]string{}, m.amsrefs...),
	}
	if m.cmid != "" {
		v["clientmessageid"] = m.cmid
	}
	if m.skypeEditedID != "" {
		v["skypeeditedid"] = m.skypeEditedID
	}
	if c.isChannel() {
		v["rootMessageId"] = strconv.FormatInt(m.root, 10)
	}
	return v
}

// emotionsView collapses the history to the current reactions, in the
// array shape the service uses.
func emotionsView(hist []emotion) []map[string]any {
	type key struct{ k, mri string }
	latest := map[key]emotion{}
	var order []string
	seenKey := map[string]bool{}
	for _, em := range hist {
		latest[key{em.key, em.mri}] = em
		if !seenKey[em.key] {
			seenKey[em.key] = true
			order = append(order, em.key)
		}
	}
	var out []map[string]any
	for _, k := range order {
		users := []map[string]any{}
		for _, em := range hist {
			cur := latest[key{k, em.mri}]
			if em.key != k || cur.time != em.time || cur.value == "" {
				continue
			}
			users = append(users, map[string]any{"mri": em.mri, "time": em.time, "value": em.value})
		}
		out = append(out, map[string]any{"key": k, "users": users})
	}
	return out
}

func (e *Emulator) threadView(c *conv) map[string]any {
	var members []map[string]any
	mris := make([]string, 0, len(c.members))
	for m := range c.members {
		mris = append(mris, m)
	}
	sort.Strings(mris)
	for _, m := range mris {
		mv := map[string]any{"id": m, "role": c.members[m], "userLink": e.base + "/v1/users/" + m, "linkedMri": ""}
		if u := e.users[m]; u != nil {
			mv["friendlyName"] = u.Name
		}
		members = append(members, mv)
	}
	return map[string]any{"id": c.publicID(), "type": "Thread", "version": c.version, "members": members, "properties": e.threadProps(c)}
}

func (e *Emulator) threadProps(c *conv) map[string]string {
	p := map[string]string{"threadType": c.threadType, "topic": c.topic, "creator": c.creator,
		"createdat": strconv.FormatInt(c.created, 10), "historydisclosed": "false", "version": strconv.FormatInt(c.version, 10),
		"membercount": strconv.Itoa(len(c.members))}
	if c.oneToOne {
		p["uniquerosterthread"] = "true"
		p["fixedRoster"] = "true"
		p["productThreadType"] = "OneToOneChat"
	} else {
		p["uniquerosterthread"] = "false"
	}
	if c.threadType == "topic" {
		p["spaceId"] = c.team
	}
	if e.opts.UntitledChannels && c.isChannel() {
		delete(p, "topic")
	}
	if c.threadType == "meeting" {
		subject, _ := json.Marshal(map[string]string{"subject": c.topic, "organizerId": strings.TrimPrefix(c.creator, "8:orgid:")})
		p["meeting"] = string(subject)
		if e.opts.MeetingSubjectOnly {
			delete(p, "topic")
		}
	}
	return p
}

func (e *Emulator) conversationView(c *conv, viewer *User) map[string]any {
	v := map[string]any{
		"id": c.publicID(), "type": "Conversation", "version": c.version,
		"messages": e.convLink(c.publicID()) + "/messages",
		"properties": map[string]any{"consumptionhorizon": firstNonEmpty(c.horizons[viewer.MRI], "0;0;0"),
			"lastimreceivedtime": msTime(c.changed), "isemptyconversation": strconv.FormatBool(len(c.messages) == 0)},
		"threadProperties": e.threadProps(c),
		"memberProperties": map[string]any{"role": c.members[viewer.MRI]},
	}
	if strings.HasPrefix(c.id, "19:") {
		v["targetLink"] = e.base + "/v1/threads/" + c.publicID()
	}
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if kindVisible(m) {
			v["lastMessage"] = e.messageView(c, m)
			break
		}
	}
	return v
}

func kindVisible(m *message) bool { return !strings.HasPrefix(strings.ToLower(m.mtype), "control/") }
