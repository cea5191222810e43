package skypeemu

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func pathSegments(r *http.Request) []string {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

// handleMessaging serves the messaging host (/v1/...).
func (e *Emulator) handleMessaging(w http.ResponseWriter, r *http.Request) {
	seg := pathSegments(r)[1:]
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(seg) == 3 && seg[0] == "users" && seg[1] == "ME" && seg[2] == "endpoints" && r.Method == http.MethodPost {
		e.handleRegister(w, r, body)
		return
	}
	ep, status, code, msg := e.registration(r)
	if status != 0 {
		svcError(w, status, code, msg)
		return
	}
	u := ep.user
	onAlt := r.Host == e.alt.Listener.Addr().String()
	if u.altHost != onAlt {
		// The user's messaging lives on the other host.
		w.Header().Set("Location", e.hostURL(u)+r.URL.Path)
		svcError(w, http.StatusNotFound, 752, "Your princess is in another castle")
		return
	}
	var obj map[string]any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &obj); err != nil {
			svcError(w, http.StatusBadRequest, 400, "body is not a JSON object")
			return
		}
	}
	switch {
	case len(seg) >= 4 && seg[0] == "users" && seg[1] == "ME" && seg[2] == "endpoints":
		e.handleEndpointCall(w, r, ep, seg[3:], body)
	case len(seg) == 4 && seg[0] == "users" && seg[2] == "presenceDocs" && seg[3] == "messagingService":
		e.handlePresence(w, r, u, obj)
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "conversations" && r.Method == http.MethodGet:
		e.listConversationsLocked(w, r, u)
	case len(seg) == 7 && seg[0] == "users" && seg[3] == "ALL" && seg[4] == "messages" && seg[6] == "ack" && r.Method == http.MethodPost:
		e.handleAck(w, ep, seg[5])
	case len(seg) >= 4 && seg[0] == "users" && seg[2] == "conversations":
		c := e.resolveLocked(u, seg[3], r.Method == http.MethodPost && len(seg) == 5 && seg[4] == "messages")
		if c == nil {
			svcError(w, http.StatusNotFound, 404, "Conversation not found")
			return
		}
		e.conversationCallLocked(w, r, u, c, seg[4:], obj)
	case len(seg) == 1 && seg[0] == "threads" && r.Method == http.MethodPost:
		e.createThreadLocked(w, u, obj)
	case len(seg) >= 2 && seg[0] == "threads":
		c := e.convs[seg[1]]
		if c == nil || !c.isGroup() || !c.isMember(u.MRI()) {
			svcError(w, http.StatusNotFound, 404, "Thread not found")
			return
		}
		e.threadCallLocked(w, r, u, c, seg[2:], obj)
	default:
		http.NotFound(w, r)
	}
}

// resolveLocked maps a conversation id as u sees it to the conversation; a
// send to a person without a chat yet opens the 1:1.
func (e *Emulator) resolveLocked(u *User, id string, create bool) *conv {
	if strings.HasPrefix(id, "19:") {
		c := e.convs[id]
		if c == nil || !c.isMember(u.MRI()) {
			return nil
		}
		return c
	}
	key := oneToOneKey(u.MRI(), id)
	c := e.convs[key]
	if c == nil && create && e.users[strings.TrimPrefix(id, "8:")] != nil {
		c = &conv{key: key, members: map[string]string{u.MRI(): "User", id: "User"}, created: e.nextIDLocked(), props: map[string]string{}}
		e.convs[key] = c
	}
	return c
}

type pageState struct {
	Offset int   `json:"o"`
	Since  int64 `json:"s"`
}

func encodeState(p pageState) string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeState(s string) (pageState, bool) {
	var p pageState
	b, err := base64.RawURLEncoding.DecodeString(s)
	return p, err == nil && json.Unmarshal(b, &p) == nil
}

func queryInt(r *http.Request, name string, def int64) int64 {
	if n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64); err == nil {
		return n
	}
	return def
}

func (e *Emulator) listConversationsLocked(w http.ResponseWriter, r *http.Request, u *User) {
	var list []*conv
	start := queryInt(r, "startTime", 0)
	for _, c := range e.convs {
		if c.isMember(u.MRI()) && c.version >= start {
			list = append(list, c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version > list[j].version })
	size := int(queryInt(r, "pageSize", 100))
	if size <= 0 {
		size = 100
	}
	st := pageState{Since: e.lastMsgID}
	var newer []*conv
	if s := r.URL.Query().Get("syncState"); s != "" {
		p, ok := decodeState(s)
		if !ok {
			svcError(w, http.StatusBadRequest, 400, "bad syncState")
			return
		}
		st.Offset = p.Offset
		// A later page also brings what changed since the previous one.
		for _, c := range list {
			if c.version > p.Since {
				newer = append(newer, c)
			}
		}
	}
	page := newer
	if st.Offset < len(list) {
		end := min(st.Offset+size, len(list))
		page = append(page, list[st.Offset:end]...)
		st.Offset = end
	}
	out := []map[string]any{}
	for _, c := range page {
		out = append(out, e.conversationView(c, u))
	}
	link := e.hostURL(u) + "/v1/users/ME/conversations?syncState=" + encodeState(st)
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out,
		"_metadata": map[string]any{"totalCount": len(list), "syncState": link, "backwardLink": link, "forwardLink": link}})
}

func (e *Emulator) conversationCallLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv, rest []string, body map[string]any) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.conversationView(c, u))
	case len(rest) == 1 && rest[0] == "messages" && r.Method == http.MethodGet:
		e.listMessagesLocked(w, r, u, c)
	case len(rest) == 1 && rest[0] == "messages" && r.Method == http.MethodPost:
		e.postMessageLocked(w, u, c, body)
	case len(rest) == 1 && rest[0] == "messages" && r.Method == http.MethodDelete:
		u.cleared[c.key] = e.nextIDLocked()
		writeJSON(w, http.StatusOK, map[string]any{})
	case len(rest) == 1 && rest[0] == "properties" && r.Method == http.MethodPut:
		name := r.URL.Query().Get("name")
		v, _ := body[name].(string)
		if name == "consumptionhorizon" {
			if strings.Count(v, ";") != 2 && strings.Count(v, ",") != 2 {
				svcError(w, http.StatusBadRequest, 400, "bad consumption horizon")
				return
			}
			e.setHorizonLocked(u, c, v)
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case len(rest) == 2 && rest[0] == "messages":
		id, err := strconv.ParseInt(rest[1], 10, 64)
		m := c.find(id)
		if err != nil || m == nil {
			svcError(w, http.StatusNotFound, 404, "Message not found")
			return
		}
		e.messageCallLocked(w, r, u, c, m, body)
	default:
		http.NotFound(w, r)
	}
}

func (e *Emulator) setHorizonLocked(u *User, c *conv, h string) {
	u.horizons[c.key] = h
	e.touchLocked(c)
	e.fanOutLocked([]*User{u}, "ConversationUpdate", func(v *User) (string, map[string]any, int64) {
		cv := e.conversationView(c, v)
		return e.hostURL(v) + "/v1/users/ME/conversations/" + c.idFor(v.MRI()), cv, 0
	})
}

func (e *Emulator) listMessagesLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv) {
	start := queryInt(r, "startTime", 0)
	end := queryInt(r, "endTime", 0)
	size := int(queryInt(r, "pageSize", 30))
	if size <= 0 || size > 200 {
		size = 30
	}
	var list []*message
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if strings.HasPrefix(strings.ToLower(m.mtype), "control/") || m.editedID != "" {
			continue
		}
		if m.id < start && m.version < start {
			continue
		}
		if m.id <= u.cleared[c.key] {
			continue // cleared for this user only
		}
		if end > 0 && m.id > end {
			continue
		}
		list = append(list, m)
	}
	off := 0
	if s := r.URL.Query().Get("syncState"); s != "" {
		p, ok := decodeState(s)
		if !ok {
			svcError(w, http.StatusBadRequest, 400, "bad syncState")
			return
		}
		off = p.Offset
	}
	var page []*message
	if off < len(list) {
		page = list[off:min(off+size, len(list))]
	}
	out := []map[string]any{}
	for _, m := range page {
		out = append(out, e.messageView(c, m, u))
	}
	meta := map[string]any{"totalCount": len(list)}
	if off+size < len(list) {
		link := e.hostURL(u) + "/v1/users/ME/conversations/" + url.PathEscape(c.idFor(u.MRI())) + "/messages?syncState=" + encodeState(pageState{Offset: off + size})
		meta["backwardLink"], meta["syncState"] = link, link
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out, "_metadata": meta})
}

func str(body map[string]any, k string) string {
	switch v := body[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatInt(int64(v), 10)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (e *Emulator) postMessageLocked(w http.ResponseWriter, u *User, c *conv, body map[string]any) {
	mtype := str(body, "messagetype")
	if mtype == "" {
		svcError(w, http.StatusBadRequest, 400, "messagetype is required")
		return
	}
	switch strings.ToLower(mtype) {
	case "control/typing", "control/cleartyping":
		e.typing = append(e.typing, TypingEvent{From: u.MRI(), Conv: c.idFor(u.MRI()), Stop: strings.EqualFold(mtype, "control/cleartyping"),
			ContentType: str(body, "contenttype"), ClientMessageID: str(body, "clientmessageid")})
		m := &message{id: e.nextIDLocked(), from: u.MRI(), name: u.DisplayName, mtype: mtype, ctype: "Application/Message", cmid: str(body, "clientmessageid")}
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
		writeJSON(w, http.StatusCreated, map[string]any{"OriginalArrivalTime": m.id})
		return
	}
	if orig := str(body, "skypeeditedid"); orig != "" {
		om := c.byClientID(u.MRI(), orig)
		if om == nil {
			svcError(w, http.StatusNotFound, 404, "Message to edit not found")
			return
		}
		e.editLocked(c, om, u, str(body, "content"))
		writeJSON(w, http.StatusCreated, map[string]any{"OriginalArrivalTime": e.lastMsgID})
		return
	}
	cmid := str(body, "clientmessageid")
	if m := c.byClientID(u.MRI(), cmid); m != nil {
		// A retried send: same answer, no second message.
		e.created(w, u, c, m)
		return
	}
	m := &message{id: e.nextIDLocked(), cmid: cmid, from: u.MRI(), name: firstNonEmpty(str(body, "imdisplayname"), u.DisplayName), mtype: mtype,
		ctype: firstNonEmpty(str(body, "contenttype"), "text"), content: str(body, "content"), emote: str(body, "skypeemoteoffset"),
		hasMentions: str(body, "Has-Mentions")}
	m.version, m.compose = m.id, m.id
	if refs, ok := body["amsreferences"].([]any); ok {
		for _, r := range refs {
			if s, ok := r.(string); ok {
				m.amsrefs = append(m.amsrefs, s)
			}
		}
	}
	e.appendLocked(c, m)
	e.created(w, u, c, m)
	if hook := e.opts.OnMessage; hook != nil {
		p := Posted{Thread: c.thread, From: u.MRI(), Type: mtype, Content: m.content}
		for mri := range c.members {
			p.Members = append(p.Members, mri)
		}
		sort.Strings(p.Members)
		go hook(p)
	}
}

func (e *Emulator) created(w http.ResponseWriter, u *User, c *conv, m *message) {
	w.Header().Set("Location", e.msgLink(c, m, u))
	writeJSON(w, http.StatusCreated, map[string]any{"OriginalArrivalTime": m.id})
}

func (e *Emulator) msgLink(c *conv, m *message, v *User) string {
	return e.hostURL(v) + "/v1/users/ME/conversations/" + c.idFor(v.MRI()) + "/messages/" + strconv.FormatInt(m.id, 10)
}

// appendLocked stores m and delivers it to every member, the sender included (echo).
func (e *Emulator) appendLocked(c *conv, m *message) {
	c.messages = append(c.messages, m)
	e.touchLocked(c)
	e.fanOutLocked(e.membersLocked(c), "NewMessage", func(v *User) (string, map[string]any, int64) {
		return e.msgLink(c, m, v), e.messageView(c, m, v), m.id
	})
}

// editLocked applies an edit (empty content deletes) and emits the Skype
// form: a new message whose skypeeditedid is the original clientmessageid.
func (e *Emulator) editLocked(c *conv, m *message, editor *User, content string) {
	now := e.nextIDLocked()
	rec := &message{id: now, version: now, compose: now, from: m.from, name: m.name, mtype: m.mtype, ctype: m.ctype, editedID: m.cmid}
	if content == "" {
		m.deleted, m.content = now, ""
	} else {
		m.edited = now
		m.content = content
		rec.content = content + fmt.Sprintf(`<e_m ts="%d" ts_ms="%d" a="%s" t="61"/>`, now/1000, now, strings.TrimPrefix(editor.MRI(), "8:"))
	}
	m.version = now
	c.messages = append(c.messages, rec)
	e.touchLocked(c)
	e.fanOutLocked(e.membersLocked(c), "NewMessage", func(v *User) (string, map[string]any, int64) {
		return e.msgLink(c, rec, v), e.messageView(c, rec, v), rec.id
	})
}

func (e *Emulator) messageCallLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv, m *message, body map[string]any) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, e.messageView(c, m, u))
	case http.MethodPut:
		if m.from != u.MRI() {
			svcError(w, http.StatusForbidden, 403, "Only the sender can edit a message")
			return
		}
		content := str(body, "content")
		if content == "" {
			svcError(w, http.StatusBadRequest, 400, "content is required")
			return
		}
		e.editLocked(c, m, u, content)
		writeJSON(w, http.StatusOK, map[string]any{"edittime": m.edited})
	case http.MethodDelete:
		if m.from != u.MRI() {
			svcError(w, http.StatusForbidden, 403, "Only the sender can delete a message")
			return
		}
		e.editLocked(c, m, u, "")
		writeJSON(w, http.StatusOK, map[string]any{"deletetime": m.deleted})
	default:
		http.NotFound(w, r)
	}
}

func (e *Emulator) createThreadLocked(w http.ResponseWriter, u *User, body map[string]any) {
	members := map[string]string{}
	list, _ := body["members"].([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		id := str(m, "id")
		if id == "" {
			continue
		}
		if e.users[strings.TrimPrefix(id, "8:")] == nil {
			svcError(w, http.StatusBadRequest, 400, "unknown member "+id)
			return
		}
		members[id] = firstNonEmpty(str(m, "role"), "User")
	}
	if _, ok := members[u.MRI()]; !ok {
		members[u.MRI()] = "Admin"
	}
	props, _ := body["properties"].(map[string]any)
	c := e.newThreadLocked(u.MRI(), members, str(props, "topic"))
	w.Header().Set("Location", e.hostURL(u)+"/v1/threads/"+c.thread)
	writeJSON(w, http.StatusCreated, map[string]any{})
}

func (e *Emulator) newThreadLocked(creator string, members map[string]string, topic string) *conv {
	id := "19:" + randHex(16) + "@thread.skype"
	c := &conv{key: id, thread: id, members: map[string]string{}, topic: topic, creator: creator, created: e.nextIDLocked(), props: map[string]string{}}
	e.convs[id] = c
	for mri, role := range members {
		c.members[mri] = role
	}
	var targets strings.Builder
	for mri := range members {
		targets.WriteString("<target>" + mri + "</target>")
	}
	e.activityLocked(c, creator, "ThreadActivity/AddMember", "<addmember><eventtime>%d</eventtime><initiator>"+creator+"</initiator>"+targets.String()+"</addmember>")
	if topic != "" {
		e.activityLocked(c, creator, "ThreadActivity/TopicUpdate", "<topicupdate><eventtime>%d</eventtime><initiator>"+creator+"</initiator><value>"+xmlEscape(topic)+"</value></topicupdate>")
	}
	return c
}

func (e *Emulator) threadCallLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv, rest []string, body map[string]any) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.threadView(c, u))
	case len(rest) == 2 && rest[0] == "members" && r.Method == http.MethodPut:
		target := rest[1]
		if e.users[strings.TrimPrefix(target, "8:")] == nil {
			svcError(w, http.StatusBadRequest, 400, "unknown user")
			return
		}
		e.addMemberLocked(c, u.MRI(), target, firstNonEmpty(str(body, "role"), "User"))
		writeJSON(w, http.StatusOK, map[string]any{})
	case len(rest) == 2 && rest[0] == "members" && r.Method == http.MethodDelete:
		if !c.isMember(rest[1]) {
			svcError(w, http.StatusNotFound, 404, "not a member")
			return
		}
		e.removeMemberLocked(c, u.MRI(), rest[1])
		writeJSON(w, http.StatusOK, map[string]any{})
	case len(rest) == 1 && rest[0] == "properties" && r.Method == http.MethodPut:
		name := r.URL.Query().Get("name")
		v := str(body, name)
		if name == "topic" {
			e.setTopicLocked(c, u.MRI(), v)
		} else {
			c.props[name] = v
			e.threadUpdateLocked(c)
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case len(rest) == 1 && rest[0] == "consumptionhorizons" && r.Method == http.MethodGet:
		var hs []map[string]any
		for _, m := range e.membersLocked(c) {
			hs = append(hs, map[string]any{"id": m.MRI(), "consumptionhorizon": firstNonEmpty(m.horizons[c.key], "0;0;0")})
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": c.thread, "version": c.version, "consumptionhorizons": hs})
	default:
		http.NotFound(w, r)
	}
}

func (e *Emulator) activityLocked(c *conv, initiator, mtype, content string) {
	id := e.nextIDLocked()
	m := &message{id: id, version: id, compose: id, from: initiator, mtype: mtype, ctype: "text", content: strings.Replace(content, "%d", strconv.FormatInt(id, 10), 1)}
	e.appendLocked(c, m)
	e.threadUpdateLocked(c)
}

func (e *Emulator) threadUpdateLocked(c *conv) {
	e.touchLocked(c)
	e.fanOutLocked(e.membersLocked(c), "ThreadUpdate", func(v *User) (string, map[string]any, int64) {
		return e.hostURL(v) + "/v1/threads/" + c.thread, e.threadView(c, v), 0
	})
}

func (e *Emulator) addMemberLocked(c *conv, initiator, target, role string) {
	c.members[target] = role
	e.activityLocked(c, initiator, "ThreadActivity/AddMember", "<addmember><eventtime>%d</eventtime><initiator>"+initiator+"</initiator><target>"+target+"</target></addmember>")
}

func (e *Emulator) removeMemberLocked(c *conv, initiator, target string) {
	// The leaver still hears about its own removal; the ThreadUpdate that
	// follows lists the members after it.
	id := e.nextIDLocked()
	m := &message{id: id, version: id, compose: id, from: initiator, mtype: "ThreadActivity/DeleteMember", ctype: "text",
		content: "<deletemember><eventtime>" + strconv.FormatInt(id, 10) + "</eventtime><initiator>" + initiator + "</initiator><target>" + target + "</target></deletemember>"}
	e.appendLocked(c, m)
	delete(c.members, target)
	e.threadUpdateLocked(c)
}

func (e *Emulator) setTopicLocked(c *conv, initiator, topic string) {
	c.topic = topic
	e.activityLocked(c, initiator, "ThreadActivity/TopicUpdate", "<topicupdate><eventtime>%d</eventtime><initiator>"+initiator+"</initiator><value>"+xmlEscape(topic)+"</value></topicupdate>")
}

func (e *Emulator) handlePresence(w http.ResponseWriter, r *http.Request, u *User, body map[string]any) {
	switch r.Method {
	case http.MethodGet:
		docs := []map[string]any{}
		for _, ep := range u.endpoints {
			if ep.gone {
				continue
			}
			docs = append(docs, map[string]any{"link": e.hostURL(u) + "/v1/users/" + u.MRI() + "/endpoints/" + url.PathEscape(ep.id) + "/presenceDocs/messagingService",
				"id": "messagingService", "type": "EndpointPresenceDoc"})
		}
		writeJSON(w, http.StatusOK, map[string]any{"endpointPresenceDocs": docs})
	case http.MethodPut:
		st := str(body, "status")
		switch st {
		case "Online", "Busy", "Hidden", "Away", "Idle":
		default:
			svcError(w, http.StatusBadRequest, 400, "unknown status")
			return
		}
		e.setStatusLocked(u, st)
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// setStatusLocked changes presence and tells contacts subscribed to it.
func (e *Emulator) setStatusLocked(u *User, st string) {
	u.Status = st
	shown := st
	if st == "Hidden" {
		shown = "Offline"
	}
	var watchers []*User
	for _, o := range e.users {
		for _, ep := range o.endpoints {
			for _, res := range ep.resources {
				if res == "/v1/users/ME/contacts/"+u.MRI() {
					watchers = append(watchers, o)
				}
			}
		}
	}
	seen := map[*User]bool{}
	var uniq []*User
	for _, wu := range watchers {
		if !seen[wu] {
			seen[wu] = true
			uniq = append(uniq, wu)
		}
	}
	e.fanOutLocked(uniq, "UserPresence", func(v *User) (string, map[string]any, int64) {
		link := e.hostURL(v) + "/v1/users/" + u.MRI() + "/presenceDocs/messagingService"
		return link, map[string]any{"id": "messagingService", "type": "UserPresenceDoc", "availability": shown, "status": shown,
			"capabilities": "", "endpointPresenceDocLinks": []any{}, "selfLink": link}, 0
	})
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
