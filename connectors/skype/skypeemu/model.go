package skypeemu

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// conv is a conversation: a 1:1 (two members, addressed by each other's
// MRI) or a group thread (19:...@thread.skype).
type conv struct {
	key      string            // internal: thread id, or "1:1:<a>|<b>"
	thread   string            // "" for a 1:1
	members  map[string]string // MRI -> role
	topic    string
	creator  string
	created  int64
	props    map[string]string // joiningenabled, historydisclosed...
	messages []*message
	version  int64
}

type message struct {
	id       int64
	version  int64
	cmid     string
	from     string // MRI
	name     string
	mtype    string
	ctype    string
	content  string
	compose  int64
	editedID string // for legacy edit records: original clientmessageid
	emote    string
	amsrefs  []string
	// hasMentions is the send-side "Has-Mentions" field as sent.
	hasMentions string
	edited      int64
	deleted     int64
	// override replaces fields of the message's JSON (tests of what a
	// client does with malformed messages).
	override map[string]any
}

func (c *conv) isGroup() bool { return c.thread != "" }

func (c *conv) isMember(mri string) bool { _, ok := c.members[mri]; return ok }

// idFor is the conversation id as viewer sees it.
func (c *conv) idFor(viewer string) string {
	if c.isGroup() {
		return c.thread
	}
	for m := range c.members {
		if m != viewer {
			return m
		}
	}
	return viewer
}

func oneToOneKey(a, b string) string {
	s := []string{a, b}
	sort.Strings(s)
	return "1:1:" + s[0] + "|" + s[1]
}

func (c *conv) find(id int64) *message {
	for _, m := range c.messages {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (c *conv) byClientID(from, cmid string) *message {
	if cmid == "" {
		return nil
	}
	for _, m := range c.messages {
		if m.from == from && m.cmid == cmid && m.editedID == "" {
			return m
		}
	}
	return nil
}

func (c *conv) last() *message {
	for i := len(c.messages) - 1; i >= 0; i-- {
		if !strings.HasPrefix(strings.ToLower(c.messages[i].mtype), "control/") {
			return c.messages[i]
		}
	}
	return nil
}

// nextIDLocked gives strictly increasing ms-epoch message ids.
func (e *Emulator) nextIDLocked() int64 {
	id := e.now().UnixMilli()
	if id <= e.lastMsgID {
		id = e.lastMsgID + 1
	}
	e.lastMsgID = id
	return id
}

func isoMS(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func (e *Emulator) hostURL(u *User) string {
	if u != nil && u.altHost {
		return e.alt.URL
	}
	return e.srv.URL
}

func (e *Emulator) messageView(c *conv, m *message, viewer *User) map[string]any {
	host := e.hostURL(viewer) + "/v1"
	cid := c.idFor(viewer.MRI())
	v := map[string]any{
		"id": strconv.FormatInt(m.id, 10), "version": strconv.FormatInt(m.version, 10), "type": "Message",
		"messagetype": m.mtype, "contenttype": m.ctype, "content": m.content,
		"from":             host + "/users/ME/contacts/" + m.from,
		"conversationLink": host + "/users/ME/conversations/" + cid,
		"imdisplayname":    m.name,
		"composetime":      isoMS(m.compose), "originalarrivaltime": isoMS(m.id),
		"isactive": true, "origincontextid": "0", "counterpartymessageid": strconv.FormatInt(m.id, 10),
	}
	if m.cmid != "" {
		v["clientmessageid"] = m.cmid
	}

	if m.editedID != "" {
		v["skypeeditedid"] = m.editedID
	}
	if m.emote != "" {
		v["skypeemoteoffset"] = m.emote
	}
	if len(m.amsrefs) > 0 {
		v["amsreferences"] = m.amsrefs
	}
	if c.isGroup() {
		v["threadtopic"] = c.topic
	}
	props := map[string]any{}
	if m.edited > 0 {
		props["edittime"] = strconv.FormatInt(m.edited, 10)
	}
	if m.deleted > 0 {
		props["deletetime"] = strconv.FormatInt(m.deleted, 10)
	}
	v["properties"] = props
	for k, val := range m.override {
		v[k] = val
	}
	return v
}

func (e *Emulator) threadView(c *conv, viewer *User) map[string]any {
	host := e.hostURL(viewer) + "/v1"
	members := []map[string]any{}
	mris := make([]string, 0, len(c.members))
	for m := range c.members {
		mris = append(mris, m)
	}
	sort.Strings(mris)
	for _, m := range mris {
		members = append(members, map[string]any{"id": m, "role": c.members[m], "type": "ThreadMember", "userLink": host + "/users/" + m,
			"linkedMri": "", "friendlyName": "", "capabilities": []any{}, "cid": 0, "userTile": ""})
	}
	props := map[string]any{"topic": c.topic, "creator": c.creator, "createdat": strconv.FormatInt(c.created, 10),
		"historydisclosed": "true", "joiningenabled": "true", "capabilities": []string{"AddMember", "ChangeTopic", "ChangePicture", "EditMsg", "CallP2P", "SendText", "SendSms", "SendContacts", "SendVideoMsg", "SendMediaMsg", "ChangeModerated"}}
	for k, val := range c.props {
		props[k] = val
	}
	view := map[string]any{"id": c.thread, "type": "Thread", "version": c.version, "members": members, "properties": props}
	if e.omitMembers {
		delete(view, "members")
	}
	return view
}

func (e *Emulator) conversationView(c *conv, viewer *User) map[string]any {
	host := e.hostURL(viewer) + "/v1"
	cid := c.idFor(viewer.MRI())
	h := viewer.horizons[c.key]
	if h == "" {
		h = "0;0;0"
	}
	v := map[string]any{"id": cid, "type": "Conversation", "version": c.version,
		"messages":   host + "/users/ME/conversations/" + cid + "/messages",
		"properties": map[string]any{"consumptionhorizon": h, "clearedat": strconv.FormatInt(viewer.cleared[c.key], 10)}}
	if c.isGroup() {
		v["targetLink"] = host + "/threads/" + c.thread
		v["threadProperties"] = map[string]any{"topic": c.topic, "lastjoinat": strconv.FormatInt(c.created, 10), "version": strconv.FormatInt(c.version, 10)}
	} else {
		v["targetLink"] = host + "/users/ME/contacts/" + cid
	}
	if m := c.last(); m != nil {
		v["lastMessage"] = e.messageView(c, m, viewer)
	}
	return v
}

func (e *Emulator) touchLocked(c *conv) int64 {
	c.version = e.nextIDLocked()
	return c.version
}
