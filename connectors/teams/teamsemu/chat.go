package teamsemu

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

func svcError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errorCode": code, "message": msg})
}

// pathSegments splits the escaped path and unescapes each segment, so ids
// may arrive escaped (%3A, %40, %3B) or raw.
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

// resolveConvLocked maps a wire id to the conversation for user u.
func (e *Emulator) resolveConvLocked(u *User, id string) (*conv, int64) {
	cid, rootStr, _ := strings.Cut(id, ";")
	var root int64
	if rootStr != "" {
		for _, kv := range strings.Split(rootStr, ";") {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "messageid") {
				root, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	if cid == "48:notes" {
		return e.convs[notesID(u)], 0
	}
	return e.convs[cid], root
}

// handleChat serves /v1/... of the chat service.
func (e *Emulator) handleChat(w http.ResponseWriter, r *http.Request) {
	seg := pathSegments(r)[1:] // drop "v1"
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.skypeUserLocked(r)
	if u == nil {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "Authentication failed: skypetoken missing or expired")
		return
	}
	var body map[string]any
	if r.Body != nil {
		data, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if len(strings.TrimSpace(string(data))) > 0 {
			if err := json.Unmarshal(data, &body); err != nil {
				svcError(w, http.StatusBadRequest, "BadArgument", "body is not a JSON object")
				return
			}
		}
	}
	switch {
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "conversations" && r.Method == http.MethodGet:
		e.listConversationsLocked(w, r, u)
	case len(seg) >= 4 && seg[0] == "users" && seg[2] == "conversations":
		c, root := e.resolveConvLocked(u, seg[3])
		rest := seg[4:]
		if c == nil && len(rest) == 1 && rest[0] == "messages" && r.Method == http.MethodPost {
			c = e.implicitOneToOneLocked(u, seg[3])
		}
		if c == nil || !c.isMember(u.MRI) {
			svcError(w, http.StatusNotFound, "NotFound", "Conversation not found")
			return
		}
		e.conversationCallLocked(w, r, u, c, root, rest, body)
	case len(seg) == 1 && seg[0] == "threads" && r.Method == http.MethodPost:
		e.createThreadLocked(w, u, body)
	case len(seg) >= 2 && seg[0] == "threads":
		c, _ := e.resolveConvLocked(u, seg[1])
		if strings.HasPrefix(seg[1], "48:") {
			svcError(w, http.StatusBadRequest, "BadArgument", "not a thread")
			return
		}
		if c == nil || !c.isMember(u.MRI) {
			svcError(w, http.StatusNotFound, "NotFound", "Thread not found")
			return
		}
		e.threadCallLocked(w, r, u, c, seg[2:], body)
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such resource")
	}
}

func (e *Emulator) implicitOneToOneLocked(u *User, id string) *conv {
	// 19:<oidA>_<oidB>@unq.gbl.spaces, ids sorted, created by the first message.
	body, ok := strings.CutSuffix(strings.TrimPrefix(id, "19:"), "@unq.gbl.spaces")
	if !ok || !strings.HasPrefix(id, "19:") {
		return nil
	}
	a, b, ok := strings.Cut(body, "_")
	if !ok || a > b {
		return nil
	}
	var peer *User
	for _, other := range e.users {
		if other.Consumer {
			continue
		}
		if (other.OID == a && u.OID == b) || (other.OID == b && u.OID == a) {
			peer = other
		}
	}
	if peer == nil {
		return nil
	}
	c := &conv{id: id, threadType: "chat", oneToOne: true, members: map[string]string{u.MRI: "Admin", peer.MRI: "Admin"},
		horizons: map[string]string{}, creator: u.MRI}
	c.created = e.touchLocked(c)
	e.convs[id] = c
	return c
}

type pageState struct {
	Offset int   `json:"o,omitempty"`
	Before int64 `json:"b,omitempty"`
	Start  int64 `json:"s,omitempty"`
	End    int64 `json:"e,omitempty"`
}

func encodeState(p pageState) string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeState(s string) (pageState, bool) {
	var p pageState
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &p) != nil {
		return p, false
	}
	return p, true
}

func queryInt(r *http.Request, name string, def int64) int64 {
	v := r.URL.Query().Get(name)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return def
}

func (e *Emulator) listConversationsLocked(w http.ResponseWriter, r *http.Request, u *User) {
	st := pageState{Start: queryInt(r, "startTime", 0)}
	if s := r.URL.Query().Get("syncState"); s != "" {
		var ok bool
		if st, ok = decodeState(s); !ok {
			svcError(w, http.StatusBadRequest, "BadArgument", "invalid syncState")
			return
		}
	}
	size := int(queryInt(r, "pageSize", 100))
	if size <= 0 || size > 500 {
		size = 100
	}
	var list []*conv
	for key, c := range e.convs {
		if !c.isMember(u.MRI) {
			continue
		}
		if strings.HasPrefix(key, "48:notes/") && key != notesID(u) {
			continue
		}
		if c.changed >= st.Start {
			list = append(list, c)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].changed != list[j].changed {
			return list[i].changed > list[j].changed
		}
		return list[i].id < list[j].id
	})
	total := len(list)
	if st.Offset > len(list) {
		st.Offset = len(list)
	}
	page := list[st.Offset:]
	if len(page) > size {
		page = page[:size]
	}
	out := make([]map[string]any, 0, len(page))
	for _, c := range page {
		out = append(out, e.conversationView(c, u))
	}
	self := e.base + "/v1/users/ME/conversations?view=msnp24Equivalent&pageSize=" + strconv.Itoa(size)
	meta := map[string]any{"totalCount": total,
		"syncState": self + "&syncState=" + encodeState(pageState{Start: e.now().UnixMilli()})}
	if st.Offset+len(page) < total {
		meta["backwardLink"] = self + "&syncState=" + encodeState(pageState{Offset: st.Offset + len(page), Start: st.Start})
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out, "_metadata": meta})
}

func (e *Emulator) conversationCallLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv, root int64, rest []string, body map[string]any) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.conversationView(c, u))
	case len(rest) == 1 && rest[0] == "messages" && r.Method == http.MethodGet:
		e.listMessagesLocked(w, r, c, root)
	case len(rest) == 1 && rest[0] == "messages" && r.Method == http.MethodPost:
		e.postMessageLocked(w, u, c, root, body)
	case len(rest) == 1 && rest[0] == "properties" && r.Method == http.MethodPut:
		if r.URL.Query().Get("name") != "consumptionhorizon" {
			svcError(w, http.StatusBadRequest, "BadArgument", "unsupported property")
			return
		}
		h, _ := body["consumptionhorizon"].(string)
		if strings.Count(h, ";") != 2 {
			svcError(w, http.StatusBadRequest, "BadArgument", "consumptionhorizon must be id;time;id")
			return
		}
		e.setHorizonLocked(u, c, h)
		w.WriteHeader(http.StatusOK)
	case len(rest) >= 2 && rest[0] == "messages":
		id, err := strconv.ParseInt(rest[1], 10, 64)
		m := c.find(id)
		if err != nil || m == nil {
			svcError(w, http.StatusNotFound, "NotFound", "Message not found")
			return
		}
		e.messageCallLocked(w, r, u, c, m, rest[2:], body)
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such resource")
	}
}

func (e *Emulator) listMessagesLocked(w http.ResponseWriter, r *http.Request, c *conv, root int64) {
	st := pageState{Start: queryInt(r, "startTime", 0), End: queryInt(r, "endTime", 0)}
	if s := r.URL.Query().Get("syncState"); s != "" {
		var ok bool
		if st, ok = decodeState(s); !ok {
			svcError(w, http.StatusBadRequest, "BadArgument", "invalid syncState")
			return
		}
	}
	size := int(queryInt(r, "pageSize", 20))
	if size <= 0 || size > 200 {
		size = 200
	}
	var sel []*message
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if root != 0 && m.root != root {
			continue
		}
		if !kindVisible(m) || max(m.id, m.version) < st.Start || (st.End > 0 && m.id > st.End) || (st.Before > 0 && m.id >= st.Before) {
			continue
		}
		sel = append(sel, m)
	}
	more := len(sel) > size
	if more {
		sel = sel[:size]
	}
	out := make([]map[string]any, 0, len(sel))
	for _, m := range sel {
		out = append(out, e.messageView(c, m))
	}
	self := e.convLink(c.publicID()) + "/messages?view=msnp24Equivalent&pageSize=" + strconv.Itoa(size)
	meta := map[string]any{"lastCompleteSegmentStartTime": st.Start, "lastCompleteSegmentEndTime": e.now().UnixMilli(),
		"syncState": self + "&syncState=" + encodeState(pageState{Start: e.now().UnixMilli()})}
	if more {
		next := st
		next.Before = sel[len(sel)-1].id
		meta["backwardLink"] = self + "&syncState=" + encodeState(next)
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out, "_metadata": meta})
}

func str(body map[string]any, k string) string {
	switch v := body[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func (e *Emulator) postMessageLocked(w http.ResponseWriter, u *User, c *conv, root int64, body map[string]any) {
	mtype := str(body, "messagetype")
	if mtype == "" {
		svcError(w, http.StatusBadRequest, "BadArgument", "messagetype is required")
		return
	}
	now := e.now().UnixMilli()
	switch strings.ToLower(mtype) {
	case "control/typing", "control/cleartyping":
		// With contenttype "text" the real service accepts and drops typing.
		if strings.EqualFold(str(body, "contenttype"), "Application/Message") || str(body, "contenttype") == "" {
			tm := &message{id: now, version: now, mtype: mtype, ctype: "Application/Message", from: u.MRI, name: u.Name, root: root}
			e.typing = append(e.typing, TypingEvent{From: u.MRI, Conversation: c.publicID(), Clear: strings.EqualFold(mtype, "control/cleartyping")})
			e.fanOutLocked(c, "NewMessage", tm, u.MRI)
			e.broadcast()
		}
		writeJSON(w, http.StatusCreated, map[string]any{"OriginalArrivalTime": now})
		return
	}
	if edited := str(body, "skypeeditedid"); edited != "" {
		// Skype-lineage edit: a new POST naming the original's clientmessageid.
		m := c.byClientID(u.MRI, edited)
		if m == nil {
			if id, err := strconv.ParseInt(edited, 10, 64); err == nil {
				m = c.find(id)
			}
		}
		if m == nil || m.from != u.MRI {
			svcError(w, http.StatusForbidden, "Forbidden", "cannot edit this message")
			return
		}
		m.skypeEditedID = edited
		if strings.TrimSpace(str(body, "content")) == "" {
			e.deleteLocked(c, m)
		} else {
			e.editLocked(c, m, str(body, "content"), mtype)
		}
		writeJSON(w, http.StatusCreated, map[string]any{"OriginalArrivalTime": m.version})
		return
	}
	cmid := str(body, "clientmessageid")
	if m := c.byClientID(u.MRI, cmid); m != nil {
		// A retry (or AADI's "same clientmessageid replaces") — never a second message.
		if m.content != str(body, "content") {
			e.editLocked(c, m, str(body, "content"), mtype)
		}
		e.created(w, c, m)
		return
	}
	if root != 0 && c.find(root) == nil {
		svcError(w, http.StatusNotFound, "NotFound", "reply chain root not found")
		return
	}
	m := &message{id: e.nextIDLocked(), cmid: cmid, from: u.MRI, name: firstNonEmpty(str(body, "imdisplayname"), u.Name),
		mtype: mtype, ctype: firstNonEmpty(str(body, "contenttype"), "text"), content: str(body, "content"), props: map[string]any{}}
	m.version = m.id
	m.seq = int64(len(c.messages) + 1)
	if p, ok := body["properties"].(map[string]any); ok {
		for k, v := range p {
			m.props[k] = v
		}
	}
	if refs, ok := body["amsreferences"].([]any); ok {
		for _, ref := range refs {
			if s, ok := ref.(string); ok {
				m.amsrefs = append(m.amsrefs, s)
			}
		}
	}
	if c.isChannel() {
		m.root = root
		if root == 0 {
			m.root = m.id
		}
	}
	e.appendLocked(c, m)
	e.created(w, c, m)
}

func (e *Emulator) created(w http.ResponseWriter, c *conv, m *message) {
	id := c.publicID()
	if c.isChannel() && m.root != m.id {
		id += ";messageid=" + strconv.FormatInt(m.root, 10)
	}
	if !e.opts.OmitLocation {
		w.Header().Set("Location", e.convLink(id)+"/messages/"+strconv.FormatInt(m.id, 10))
	}
	writeJSON(w, http.StatusCreated, map[string]any{"OriginalArrivalTime": m.id})
}

func (e *Emulator) appendLocked(c *conv, m *message) {
	c.messages = append(c.messages, m)
	e.touchLocked(c)
	if e.lastMsgID < m.id {
		e.lastMsgID = m.id
	}
	e.fanOutLocked(c, "NewMessage", m, "")
	e.broadcast()
	if e.hooks != nil && !e.hooksPaused {
		select {
		case e.hooks <- e.driverView(c, m):
		default: // a hook that cannot keep up misses messages; it is test scaffolding
		}
	}
}

func (e *Emulator) editLocked(c *conv, m *message, content, mtype string) {
	m.content = content
	if mtype != "" {
		m.mtype = mtype
	}
	m.version = e.nextIDLocked()
	m.editTime = m.version
	e.touchLocked(c)
	e.fanOutLocked(c, "MessageUpdate", m, "")
	e.broadcast()
}

func (e *Emulator) deleteLocked(c *conv, m *message) {
	m.content = ""
	m.version = e.nextIDLocked()
	m.deleteTime = m.version
	e.touchLocked(c)
	e.fanOutLocked(c, "MessageUpdate", m, "")
	e.broadcast()
}

func (e *Emulator) reactLocked(c *conv, m *message, u *User, key string, add bool) {
	now := e.now().UnixMilli()
	em := emotion{key: key, mri: u.MRI, time: now}
	if add {
		em.value = strconv.FormatInt(now, 10)
	}
	m.emotions = append(m.emotions, em)
	m.version = e.nextIDLocked()
	e.touchLocked(c)
	e.fanOutLocked(c, "MessageUpdate", m, "")
	e.broadcast()
}

func (e *Emulator) setHorizonLocked(u *User, c *conv, h string) {
	c.horizons[u.MRI] = h
	e.reads = append(e.reads, ReadEvent{Reader: u.MRI, Conversation: c.publicID(), Horizon: h})
	e.fanOutConversationLocked(c, u)
	e.broadcast()
}

func (e *Emulator) messageCallLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv, m *message, rest []string, body map[string]any) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.messageView(c, m))
	case len(rest) == 0 && r.Method == http.MethodPut:
		if m.from != u.MRI {
			svcError(w, http.StatusForbidden, "Forbidden", "You can only edit your own messages")
			return
		}
		if m.deleteTime != 0 {
			svcError(w, http.StatusBadRequest, "BadArgument", "message is deleted")
			return
		}
		e.editLocked(c, m, str(body, "content"), str(body, "messagetype"))
		w.WriteHeader(http.StatusOK)
	case len(rest) == 0 && r.Method == http.MethodDelete:
		if m.from != u.MRI {
			svcError(w, http.StatusForbidden, "Forbidden", "You can only delete your own messages")
			return
		}
		if m.deleteTime == 0 {
			e.deleteLocked(c, m)
		}
		writeJSON(w, http.StatusOK, nil)
	case len(rest) == 1 && rest[0] == "properties" && r.URL.Query().Get("name") == "emotions":
		key, ok := emotionKey(body)
		if !ok {
			svcError(w, http.StatusBadRequest, "BadArgument", "emotions.key is required")
			return
		}
		switch r.Method {
		case http.MethodPut:
			e.reactLocked(c, m, u, key, true)
		case http.MethodDelete:
			e.reactLocked(c, m, u, key, false)
		default:
			svcError(w, http.StatusMethodNotAllowed, "BadArgument", "method not allowed")
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such resource")
	}
}

// emotionKey accepts both body forms: an object, or a JSON-encoded string.
func emotionKey(body map[string]any) (string, bool) {
	switch v := body["emotions"].(type) {
	case map[string]any:
		k, _ := v["key"].(string)
		return k, k != ""
	case string:
		var inner map[string]any
		if json.Unmarshal([]byte(v), &inner) != nil {
			return "", false
		}
		k, _ := inner["key"].(string)
		return k, k != ""
	}
	return "", false
}

func (e *Emulator) createThreadLocked(w http.ResponseWriter, u *User, body map[string]any) {
	members := map[string]string{u.MRI: "Admin"}
	list, _ := body["members"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		role, _ := m["role"].(string)
		if e.users[id] == nil {
			svcError(w, http.StatusBadRequest, "BadArgument", fmt.Sprintf("unknown member %q", id))
			return
		}
		members[id] = firstNonEmpty(role, "User")
	}
	if len(members) < 2 {
		svcError(w, http.StatusBadRequest, "BadArgument", "a thread needs at least two members")
		return
	}
	props, _ := body["properties"].(map[string]any)
	oneToOne := fmt.Sprint(props["uniquerosterthread"]) == "true"
	if oneToOne && len(members) == 2 {
		// A unique-roster 1:1 thread exists once per pair.
		for _, c := range e.convs {
			if c.oneToOne && len(c.members) == 2 && sameMembers(c.members, members) {
				w.Header().Set("Location", e.base+"/v1/threads/"+c.id)
				writeJSON(w, http.StatusCreated, map[string]any{})
				return
			}
		}
	}
	c := e.newThreadLocked(u.MRI, members, fmt.Sprint(firstNonNil(props["topic"], "")), oneToOne, firstNonEmpty(fmt.Sprint(firstNonNil(props["threadType"], "")), "chat"))
	w.Header().Set("Location", e.base+"/v1/threads/"+c.id)
	writeJSON(w, http.StatusCreated, map[string]any{})
}

func firstNonNil(v, d any) any {
	if v == nil {
		return d
	}
	return v
}

func sameMembers(a, b map[string]string) bool {
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return len(a) == len(b)
}

func (e *Emulator) newThreadLocked(creator string, members map[string]string, topic string, oneToOne bool, threadType string) *conv {
	id := "19:" + randHex(16) + "@thread.v2"
	switch {
	case threadType == "topic" || threadType == "space":
		id = "19:" + randHex(16) + "@thread.tacv2"
	case threadType == "meeting":
		// The id is base64 of the meeting GUID (36 bytes: no padding).
		id = "19:meeting_" + base64.StdEncoding.EncodeToString([]byte(randUUID())) + "@thread.v2"
	case e.users[creator] != nil && e.users[creator].Consumer:
		id = "19:uni01_" + strings.ToLower(randHex(20)) + "@thread.v2"
	}
	c := &conv{id: id, threadType: threadType, topic: topic, oneToOne: oneToOne, members: members, horizons: map[string]string{}, creator: creator}
	c.created = e.touchLocked(c)
	e.convs[id] = c
	e.fanOutThreadLocked(c)
	e.broadcast()
	return c
}

func (e *Emulator) threadCallLocked(w http.ResponseWriter, r *http.Request, u *User, c *conv, rest []string, body map[string]any) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.threadView(c))
	case len(rest) == 1 && rest[0] == "consumptionhorizons" && r.Method == http.MethodGet:
		var hs []map[string]any
		for mri := range c.members {
			if h := c.horizons[mri]; h != "" {
				hs = append(hs, map[string]any{"id": mri, "consumptionhorizon": h, "messageVisibilityTime": c.created})
			}
		}
		sort.Slice(hs, func(i, j int) bool { return hs[i]["id"].(string) < hs[j]["id"].(string) })
		writeJSON(w, http.StatusOK, map[string]any{"id": c.id, "version": strconv.FormatInt(c.version, 10), "consumptionhorizons": hs})
	case len(rest) == 2 && rest[0] == "members":
		if c.oneToOne {
			svcError(w, http.StatusForbidden, "Forbidden", "the roster of a 1:1 chat is fixed")
			return
		}
		target := rest[1]
		if e.users[target] == nil {
			svcError(w, http.StatusNotFound, "NotFound", "unknown user")
			return
		}
		switch r.Method {
		case http.MethodPut:
			e.addMemberLocked(c, u.MRI, target, firstNonEmpty(str(body, "role"), "User"))
		case http.MethodDelete:
			if !c.isMember(target) {
				svcError(w, http.StatusNotFound, "NotFound", "not a member")
				return
			}
			e.removeMemberLocked(c, u.MRI, target)
		default:
			svcError(w, http.StatusMethodNotAllowed, "BadArgument", "method not allowed")
			return
		}
		w.WriteHeader(http.StatusOK)
	case len(rest) == 1 && rest[0] == "properties" && r.Method == http.MethodPut && r.URL.Query().Get("name") == "topic":
		e.setTopicLocked(c, u.MRI, str(body, "topic"))
		w.WriteHeader(http.StatusOK)
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such resource")
	}
}

func (e *Emulator) activityLocked(c *conv, initiator, mtype, content string) {
	m := &message{id: e.nextIDLocked(), from: initiator, mtype: mtype, ctype: "text", content: content, props: map[string]any{}}
	m.version = m.id
	if u := e.users[initiator]; u != nil {
		m.name = u.Name
	}
	m.seq = int64(len(c.messages) + 1)
	e.appendLocked(c, m)
}

func (e *Emulator) addMemberLocked(c *conv, initiator, target, role string) {
	_, had := c.members[target]
	c.members[target] = role
	if !had {
		e.activityLocked(c, initiator, "ThreadActivity/AddMember", fmt.Sprintf("<addmember><eventtime>%d</eventtime><initiator>%s</initiator><target>%s</target></addmember>", e.now().UnixMilli(), initiator, target))
	}
	e.fanOutThreadLocked(c)
}

func (e *Emulator) removeMemberLocked(c *conv, initiator, target string) {
	e.activityLocked(c, initiator, "ThreadActivity/DeleteMember", fmt.Sprintf("<deletemember><eventtime>%d</eventtime><initiator>%s</initiator><target>%s</target></deletemember>", e.now().UnixMilli(), initiator, target))
	e.fanOutThreadLocked(c)
	delete(c.members, target)
	e.broadcast()
}

func (e *Emulator) setTopicLocked(c *conv, initiator, topic string) {
	c.topic = topic
	e.activityLocked(c, initiator, "ThreadActivity/TopicUpdate", fmt.Sprintf("<topicupdate><eventtime>%d</eventtime><initiator>%s</initiator><value>%s</value></topicupdate>", e.now().UnixMilli(), initiator, xmlEscape(topic)))
	e.fanOutThreadLocked(c)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
