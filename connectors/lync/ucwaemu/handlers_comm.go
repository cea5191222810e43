package ucwaemu

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// firstMessage reads the optional _links.message data URL of a request.
func firstMessage(req map[string]json.RawMessage) (*body, bool) {
	var links struct {
		Message struct {
			Href string `json:"href"`
		} `json:"message"`
	}
	if raw, ok := req["_links"]; ok {
		if json.Unmarshal(raw, &links) != nil {
			return nil, false
		}
	}
	if links.Message.Href == "" {
		return nil, true
	}
	mt, text, err := parseDataURL(links.Message.Href)
	if err != nil {
		return nil, false
	}
	if mt == "text/html" {
		return &body{html: text}, true
	}
	return &body{text: strings.TrimRight(text, "\r\n")}, true
}

func badRequest(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "ParameterValidationFailure", msg)
}

func (e *Emulator) handleStartMessaging(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	req, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	to := bodyString(req, "to")
	if !strings.HasPrefix(strings.ToLower(to), "sip:") {
		badRequest(w, "to must be a SIP URI.")
		return
	}
	addr, err := normalizeAddr(to)
	if err != nil || addr == a.user.addr {
		badRequest(w, "to must be another user's SIP URI.")
		return
	}
	importance := bodyString(req, "importance")
	if importance == "" {
		importance = "Normal"
	}
	if !slices.Contains([]string{"Normal", "Urgent", "Emergency"}, importance) {
		badRequest(w, "importance must be Normal, Urgent or Emergency.")
		return
	}
	first, ok := firstMessage(req)
	if !ok {
		badRequest(w, "_links.message must be a data URL.")
		return
	}
	threadID := bodyString(req, "threadId")
	for _, c := range a.convs {
		if threadID != "" && c.th.id == threadID {
			writeError(w, http.StatusConflict, "ThreadIdAlreadyExists", "A conversation with this threadId exists.")
			return
		}
	}
	m := &member{user: a.user, app: a}
	th := e.newThread(m, bodyString(req, "subject"), false)
	th.importance = importance
	if threadID != "" {
		delete(e.threads, th.id)
		th.id = threadID
		e.threads[th.id] = th
	}
	target, lookupErr := e.lookup(addr)
	if lookupErr != nil {
		target = &user{addr: addr, name: addr}
	}
	c := e.newConv(a, th, "Connecting", "Connecting")
	inv := &invitation{id: randomHex(16), conv: c, direction: "Outgoing", state: "Connecting", opID: bodyString(req, "operationId"), peer: target, first: first}
	a.invs[inv.id] = inv
	c.inv, c.lastPeer = inv, target
	if first != nil {
		first.opID = inv.opID
		e.record(th, m, first)
	}
	w.Header().Set("Location", inv.href())
	w.WriteHeader(http.StatusCreated)
	e.emitOutgoingStarted(c, inv, true)
	if lookupErr != nil {
		pi := &pendingInvite{th: th, from: m, to: target, first: first, origin: inv}
		inv.pi = pi
		th.pending[addr] = pi
		e.failInvite(pi, "DestinationNotFound", "The person you are trying to reach was not found.")
		return
	}
	e.invite(th, m, target, first, inv.opID, inv, nil)
}

// emitOutgoingStarted emits the first events of an outgoing invitation;
// a new conversation also announces itself and the local participant.
func (e *Emulator) emitOutgoingStarted(c *appConv, inv *invitation, newConv bool) {
	a := c.app
	items := []item{e.commItem(a, obj{"type": "started", "link": obj{"rel": "messagingInvitation", "href": inv.href()},
		"_embedded": obj{"messagingInvitation": e.invitationResource(inv)}})}
	if newConv {
		items = append(items,
			e.commItem(a, obj{"type": "added", "link": obj{"rel": "conversation", "href": c.href()},
				"_embedded": obj{"conversation": e.conversationResource(c)}}),
			convItem(c, obj{"type": "added", "link": obj{"rel": "localParticipant", "href": c.participantHref(a.user), "title": a.user.name},
				"_embedded": obj{"localParticipant": e.participantResource(c, a.user)}}))
	}
	items = append(items, convItem(c, obj{"type": "updated", "link": obj{"rel": "messaging", "href": c.href() + "/messaging"},
		"_embedded": obj{"messaging": e.messagingResource(c)}}))
	e.emit(a, false, items...)
}

// invitationFor finds the invitation named in the path. Caller holds e.mu.
func (e *Emulator) invitationFor(w http.ResponseWriter, r *http.Request) (*application, *invitation, bool) {
	a, ok := e.authApp(w, r)
	if !ok {
		return nil, nil, false
	}
	inv, found := a.invs[r.PathValue("inv")]
	// Both invitation kinds share one id space; each is served only under
	// its own collection.
	if !found || !strings.Contains(r.URL.Path, "/communication/"+inv.rel()+"s/") {
		writeError(w, http.StatusNotFound, "", "No such invitation.")
		return nil, nil, false
	}
	return a, inv, true
}

func (e *Emulator) handleGetInvitation(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, inv, ok := e.invitationFor(w, r); ok {
		writeJSON(w, http.StatusOK, e.invitationResource(inv))
	}
}

func (e *Emulator) handleAccept(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, inv, ok := e.invitationFor(w, r)
	if !ok {
		return
	}
	if inv.direction != "Incoming" || inv.done || inv.conv.deleted {
		writeError(w, http.StatusConflict, "", "The invitation can no longer be accepted.")
		return
	}
	if e.opts.SessionContextOnAccept && r.URL.Query().Get("sessionContext") != inv.sessionContext {
		badRequest(w, "sessionContext does not match the invitation.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
	e.join(inv.pi, &member{user: a.user, app: a})
}

func (e *Emulator) handleDecline(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, inv, ok := e.invitationFor(w, r)
	if !ok {
		return
	}
	if inv.direction != "Incoming" || inv.done || inv.conv.deleted {
		writeError(w, http.StatusConflict, "", "The invitation can no longer be declined.")
		return
	}
	req, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	global := strings.EqualFold(bodyString(req, "reason"), "Global")
	w.WriteHeader(http.StatusNoContent)
	e.completeInvitation(inv, false, "LocalFailure", "Declined", "Your invitation was declined.")
	e.teardown(inv.conv)
	if global || allDone(inv.pi.appInvs) {
		e.failInvite(inv.pi, "Declined", "The invitation was declined.")
	}
}

func (e *Emulator) handleCancel(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, inv, ok := e.invitationFor(w, r)
	if !ok {
		return
	}
	if inv.direction != "Outgoing" || inv.done {
		writeError(w, http.StatusConflict, "", "The invitation is not connecting.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
	e.completeInvitation(inv, false, "LocalFailure", "Canceled", "The invitation was canceled.")
	if inv.conv.state != "Connected" {
		e.teardown(inv.conv)
		if m := inv.conv.th.memberApp(a); m != nil {
			e.removeMember(inv.conv.th, m)
		}
	}
	if inv.pi != nil {
		e.failInvite(inv.pi, "Canceled", "The invitation was canceled.")
	}
}

// convFor finds the conversation named in the path. Caller holds e.mu.
func (e *Emulator) convFor(w http.ResponseWriter, r *http.Request) (*application, *appConv, bool) {
	a, ok := e.authApp(w, r)
	if !ok {
		return nil, nil, false
	}
	c, found := a.convs[r.PathValue("conv")]
	if !found || c.deleted {
		writeError(w, http.StatusNotFound, "", "No such conversation.")
		return nil, nil, false
	}
	return a, c, true
}

func (e *Emulator) handleConversations(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	var convs []obj
	var embedded []obj
	for _, c := range a.convs {
		if !c.deleted {
			convs = append(convs, link(c.href()))
			embedded = append(embedded, e.conversationResource(c))
		}
	}
	res := obj{"rel": "conversations", "_links": obj{"self": link(a.base() + "/communication/conversations")}}
	if len(convs) > 0 {
		res["_links"].(obj)["conversation"] = convs
		res["_embedded"] = obj{"conversation": embedded}
	}
	writeJSON(w, http.StatusOK, res)
}

func (e *Emulator) handleConversation(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, c, ok := e.convFor(w, r); ok {
		writeJSON(w, http.StatusOK, e.conversationResource(c))
	}
}

func (e *Emulator) handleMessaging(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, c, ok := e.convFor(w, r); ok {
		writeJSON(w, http.StatusOK, e.messagingResource(c))
	}
}

func (e *Emulator) handleParticipants(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	links := obj{"self": link(c.href() + "/participants"), "localParticipant": link(c.participantHref(c.app.user))}
	var parts, refs []obj
	if e.opts.LocalParticipant != "" {
		parts = append(parts, e.localParticipantResource(c))
		refs = append(refs, titled(c.participantHref(c.app.user), c.app.user.name))
	}
	for _, u := range otherMembers(c) {
		parts = append(parts, e.participantResource(c, u))
		refs = append(refs, titled(c.participantHref(u), u.name))
	}
	res := obj{"rel": "participants", "_links": links}
	if len(refs) > 0 {
		links["participant"] = refs
		res["_embedded"] = obj{"participant": parts}
	}
	writeJSON(w, http.StatusOK, res)
}

func (e *Emulator) handleParticipant(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	u, err := e.lookup(r.PathValue("addr"))
	if err != nil || (u != c.app.user && c.th.member(u) == nil) {
		writeError(w, http.StatusNotFound, "", "No such participant.")
		return
	}
	writeJSON(w, http.StatusOK, e.participantResource(c, u))
}

// operationID reads the sendMessage correlation id; sources disagree on
// its name, so both are accepted unless Options.OperationIDParam names the
// one this server reads.
func (e *Emulator) operationID(r *http.Request) string {
	names := []string{"operationId", "OperationContext"}
	if e.opts.OperationIDParam != "" {
		names = []string{e.opts.OperationIDParam}
	}
	for k, v := range r.URL.Query() {
		for _, name := range names {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

func (e *Emulator) handleSendMessage(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	if c.msgState != "Connected" {
		writeError(w, http.StatusConflict, "", "Messaging is not connected.")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "text/plain" && mt != "text/html") {
		writeError(w, http.StatusUnsupportedMediaType, "", "Send text/plain or text/html.")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || len(data) == 0 {
		badRequest(w, "The message is empty.")
		return
	}
	b := &body{opID: e.operationID(r)}
	if mt == "text/html" {
		b.html = string(data)
	} else {
		b.text = string(data)
	}
	w.Header().Set("Location", c.href()+"/messaging/messages/"+itoa(c.msgSeq+1))
	w.WriteHeader(http.StatusCreated)
	e.say(c.th, c.th.memberApp(a), b)
}

func (e *Emulator) handleTyping(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	if c.msgState != "Connected" {
		writeError(w, http.StatusConflict, "", "Messaging is not connected.")
		return
	}
	e.typing[a.user.sip()]++
	w.WriteHeader(http.StatusNoContent)
	e.setTyping(c.th, a.user, true)
}

func (e *Emulator) handleTerminate(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	w.WriteHeader(http.StatusNoContent)
	th := c.th
	if c.inv != nil && c.inv.direction == "Outgoing" && !c.inv.done && c.inv.pi != nil {
		c.inv.done = true
		e.failInvite(c.inv.pi, "Canceled", "The invitation was canceled.")
	}
	e.teardown(c)
	if m := th.memberApp(a); m != nil {
		e.removeMember(th, m)
	}
}

func (e *Emulator) handleAddMessaging(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c, ok := e.convFor(w, r)
	if !ok {
		return
	}
	conferenced := c.state == "Conferenced"
	if c.msgState != "Disconnected" || !conferenced && (c.state != "Connected" || c.lastPeer == nil) {
		writeError(w, http.StatusConflict, "", "Messaging is already active.")
		return
	}
	req, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	first, ok := firstMessage(req)
	if !ok {
		badRequest(w, "_links.message must be a data URL.")
		return
	}
	m := c.th.memberApp(a)
	peer := c.lastPeer
	if conferenced {
		peer = nil // joining the conference's IM invites nobody
	}
	inv := &invitation{id: randomHex(16), conv: c, direction: "Outgoing", state: "Connecting", opID: bodyString(req, "operationId"), peer: peer, first: first}
	a.invs[inv.id] = inv
	c.inv, c.msgState = inv, "Connecting"
	if first != nil {
		first.opID = inv.opID
		e.record(c.th, m, first)
	}
	w.Header().Set("Location", inv.href())
	w.WriteHeader(http.StatusCreated)
	e.emitOutgoingStarted(c, inv, false)
	if conferenced {
		e.joinConferenceMessaging(inv, m)
		return
	}
	if existing := c.th.member(c.lastPeer); existing != nil {
		// The peer is still in the thread (group chat): nothing to ask.
		e.connectOutgoing(inv, c.lastPeer)
		return
	}
	e.invite(c.th, m, c.lastPeer, first, inv.opID, inv, nil)
}

func (e *Emulator) handleAddParticipant(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	c, found := a.convs[r.URL.Query().Get("conversation")]
	if !found || c.deleted || c.state != "Connected" && c.state != "Conferenced" {
		writeError(w, http.StatusNotFound, "", "No such connected conversation.")
		return
	}
	req, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	target, err := e.lookup(bodyString(req, "to"))
	if err != nil {
		badRequest(w, "to must be a known SIP URI.")
		return
	}
	if c.th.member(target) != nil {
		writeError(w, http.StatusConflict, "AlreadyExists", "Already a participant.")
		return
	}
	p := &participantInvitation{id: randomHex(16), conv: c, to: target, opID: bodyString(req, "operationId")}
	a.pinvs[p.id] = p
	href := a.base() + "/communication/participantInvitations/" + p.id
	w.Header().Set("Location", href)
	w.WriteHeader(http.StatusCreated)
	c.th.group = true
	e.emit(a, false, e.commItem(a, obj{"type": "started", "link": obj{"rel": "participantInvitation", "href": href}}))
	e.invite(c.th, c.th.memberApp(a), target, nil, p.opID, nil, p)
}
