package skypeemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

// endpoint is one registered messaging endpoint of a user.
type endpoint struct {
	id         string // "{uuid}"
	user       *User
	regToken   string
	expires    time.Time
	subscribed bool
	resources  []string
	nextEvent  int64
	queue      []*event
	notify     chan struct{}
	presence   bool // presence doc published
	// lostAcks: the next n events delivered ignore their first ack.
	lostAcks int
	// dropPolls: the next n polls have their connection cut.
	dropPolls int
	polls     int
	pings     int
	gone      bool
}

type event struct {
	id        int64
	body      map[string]any
	msgID     int64 // for message events: the id an ack names
	delivered bool
	acked     bool
	ignoreAck bool
}

func (ep *endpoint) wake() {
	select {
	case ep.notify <- struct{}{}:
	default:
	}
}

func newUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// handleRegister is POST /v1/users/ME/endpoints.
func (e *Emulator) handleRegister(w http.ResponseWriter, r *http.Request, raw []byte) {
	auth := r.Header.Get("Authentication")
	tok, ok := strings.CutPrefix(auth, "skypetoken=")
	u := e.skypeTokenUser(tok)
	if !ok || u == nil {
		svcError(w, http.StatusUnauthorized, 911, "Authentication failed")
		return
	}
	lak := r.Header.Get("LockAndKey")
	if !e.validLockAndKey(lak) {
		svcError(w, http.StatusUnauthorized, 911, "LockAndKey missing or wrong")
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		svcError(w, http.StatusBadRequest, 400, "a JSON body is required")
		return
	}
	onAlt := r.Host == e.alt.Listener.Addr().String()
	if u.redirect > 0 && !onAlt {
		u.redirect--
		u.altHost = true
		// The redirect answer carries a token that must be ignored.
		w.Header().Set("Set-RegistrationToken", "registrationToken=ignore-me; expires=1; endpointId={00000000-0000-0000-0000-000000000000}")
		w.Header().Set("Location", e.alt.URL+"/v1/users/ME/endpoints")
		svcError(w, http.StatusNotFound, 752, "Your princess is in another castle")
		return
	}
	if u.altHost && !onAlt {
		w.Header().Set("Location", e.alt.URL+"/v1/users/ME/endpoints")
		svcError(w, http.StatusNotFound, 752, "Your princess is in another castle")
		return
	}
	ep := &endpoint{id: "{" + newUUID() + "}", user: u, regToken: "U2lnbmF0dXJl" + randHex(20), nextEvent: 1000,
		expires: e.now().Add(e.opts.RegistrationLifetime), notify: make(chan struct{}, 1)}
	u.endpoints[ep.id] = ep
	u.regCount++
	e.regs[ep.regToken] = ep
	host := e.hostURL(u)
	w.Header().Set("Set-RegistrationToken", fmt.Sprintf("registrationToken=%s; expires=%d; endpointId=%s", ep.regToken, ep.expires.Unix(), ep.id))
	w.Header().Set("Location", host+"/v1/users/ME/endpoints/"+url.PathEscape(ep.id))
	list := []map[string]any{}
	for _, other := range u.endpoints {
		list = append(list, map[string]any{"id": other.id, "type": "EndpointPresenceDoc", "subscriptions": []any{}})
	}
	writeJSON(w, http.StatusCreated, list)
}

func (e *Emulator) validLockAndKey(h string) bool {
	if h == "" {
		return false
	}
	fields := map[string]string{}
	for _, part := range strings.Split(h, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			fields[strings.ToLower(k)] = v
		}
	}
	if fields["appid"] != skypeapi.LockAndKeyAppID || fields["time"] == "" {
		return false
	}
	if e.opts.AcceptAnyLockAndKey {
		return true
	}
	return skypeapi.LockAndKeyResponse(fields["time"]) == fields["lockandkeyresponse"]
}

// registration finds the endpoint of a RegistrationToken header in any of
// the three forms clients send.
func (e *Emulator) registration(r *http.Request) (*endpoint, int, any, string) {
	ep := e.regs[regTokenOf(r.Header.Get("RegistrationToken"))]
	if ep == nil {
		return nil, http.StatusUnauthorized, 911, "Authentication failed: registration token missing or unknown"
	}
	if e.now().After(ep.expires) {
		return nil, http.StatusUnauthorized, 911, "Registration token expired"
	}
	if ep.gone {
		return ep, http.StatusNotFound, 729, "You must create an endpoint before performing this operation."
	}
	return ep, 0, nil, ""
}

// fanOutLocked queues an event for every subscribed endpoint of the users.
func (e *Emulator) fanOutLocked(users []*User, resourceType string, build func(viewer *User) (link string, res map[string]any, msgID int64)) {
	for _, u := range users {
		for _, ep := range u.endpoints {
			if ep.gone || !ep.subscribed {
				continue
			}
			link, res, msgID := build(u)
			ev := &event{id: ep.nextEvent, msgID: msgID}
			ep.nextEvent++
			if msgID != 0 {
				res["ackrequired"] = e.hostURL(u) + "/v1/users/ME/conversations/ALL/messages/" + strconv.FormatInt(msgID, 10) + "/ack"
			}
			ev.body = map[string]any{"id": ev.id, "type": "EventMessage", "resourceType": resourceType,
				"time": e.now().UTC().Format("2006-01-02T15:04:05Z"), "resourceLink": link, "resource": res}
			if msgID != 0 && e.omitResources > 0 {
				e.omitResources--
				delete(ev.body, "resource")
			}
			if ep.lostAcks > 0 {
				ep.lostAcks--
				ev.ignoreAck = true
			}
			ep.queue = append(ep.queue, ev)
			ep.wake()
		}
	}
}

func (e *Emulator) membersLocked(c *conv) []*User {
	var out []*User
	for mri := range c.members {
		if u := e.users[strings.TrimPrefix(mri, "8:")]; u != nil {
			out = append(out, u)
		}
	}
	return out
}

// handleEndpointCall serves /v1/users/ME/endpoints/{id}/...
func (e *Emulator) handleEndpointCall(w http.ResponseWriter, r *http.Request, ep *endpoint, seg []string, body []byte) {
	target := ep
	if seg[0] != "SELF" && seg[0] != ep.id {
		target = ep.user.endpoints[seg[0]]
		if target == nil || target.gone {
			svcError(w, http.StatusNotFound, 729, "You must create an endpoint before performing this operation.")
			return
		}
	}
	rest := strings.Join(seg[1:], "/")
	switch {
	case rest == "" && r.Method == http.MethodDelete:
		target.gone = true
		target.queue = nil
		target.wake()
		writeJSON(w, http.StatusOK, map[string]any{})
	case rest == "presenceDocs/messagingService" && r.Method == http.MethodPut:
		var doc struct {
			ID          string         `json:"id"`
			PrivateInfo map[string]any `json:"privateInfo"`
			PublicInfo  map[string]any `json:"publicInfo"`
		}
		if json.Unmarshal(body, &doc) != nil || doc.ID != "messagingService" || doc.PublicInfo == nil {
			svcError(w, http.StatusBadRequest, 400, "bad presence document")
			return
		}
		target.presence = true
		writeJSON(w, http.StatusOK, map[string]any{})
	case rest == "active" && r.Method == http.MethodPost:
		target.pings++
		writeJSON(w, http.StatusCreated, map[string]any{})
	case rest == "properties" && r.Method == http.MethodPut:
		writeJSON(w, http.StatusOK, map[string]any{})
	case rest == "subscriptions" && r.Method == http.MethodPost:
		var sub struct {
			Resources   []string `json:"interestedResources"`
			ChannelType string   `json:"channelType"`
			Template    string   `json:"template"`
			ConvType    int      `json:"conversationType"`
		}
		if json.Unmarshal(body, &sub) != nil || !strings.EqualFold(sub.ChannelType, "httpLongPoll") || len(sub.Resources) == 0 {
			svcError(w, http.StatusBadRequest, 400, "bad subscription")
			return
		}
		target.subscribed, target.resources = true, sub.Resources
		w.Header().Set("Location", e.hostURL(ep.user)+"/v1/users/ME/endpoints/"+url.PathEscape(target.id)+"/subscriptions/0")
		writeJSON(w, http.StatusCreated, map[string]any{})
	case rest == "subscriptions/0" && r.Method == http.MethodPut && r.URL.Query().Get("name") == "interestedResources":
		if !target.subscribed {
			svcError(w, http.StatusNotFound, 450, "Subscription requested could not be found.")
			return
		}
		var sub struct {
			Resources []string `json:"interestedResources"`
		}
		_ = json.Unmarshal(body, &sub)
		target.resources = sub.Resources
		writeJSON(w, http.StatusOK, map[string]any{})
	case rest == "subscriptions/0/poll" && r.Method == http.MethodPost:
		e.pollLocked(w, r, target)
	default:
		http.NotFound(w, r)
	}
}

// pollLocked answers a long poll; it releases e.mu while holding.
func (e *Emulator) pollLocked(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	if !ep.subscribed {
		svcError(w, http.StatusNotFound, 450, "Subscription requested could not be found.")
		return
	}
	ep.polls++
	if ackID, err := strconv.ParseInt(r.URL.Query().Get("ackId"), 10, 64); err == nil {
		for _, ev := range ep.queue {
			if ev.id <= ackID && ev.delivered {
				e.ackEventLocked(ev)
			}
		}
	}
	deadline := time.Now().Add(e.opts.PollHold)
	for {
		var out []map[string]any
		kept := ep.queue[:0]
		for _, ev := range ep.queue {
			switch {
			case ev.acked:
				continue
			case ev.delivered && ev.msgID == 0:
				continue // non-message events are not redelivered
			case ev.delivered && e.opts.NoRedelivery:
				continue
			}
			if ev.delivered {
				ev.ignoreAck = false // this redelivery's ack counts
			}
			ev.delivered = true
			out = append(out, ev.body)
			kept = append(kept, ev)
		}
		ep.queue = kept
		if len(out) > 0 && ep.dropPolls > 0 {
			// The answer is lost in transit: the server counts the events
			// as sent, the client never sees them.
			ep.dropPolls--
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			svcError(w, http.StatusBadGateway, 502, "connection dropped")
			return
		}
		if len(out) > 0 {
			writeJSON(w, http.StatusOK, map[string]any{"eventMessages": out})
			return
		}
		if ep.gone {
			svcError(w, http.StatusNotFound, 729, "You must create an endpoint before performing this operation.")
			return
		}
		if !ep.subscribed {
			svcError(w, http.StatusNotFound, 450, "Subscription requested could not be found.")
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			writeJSON(w, http.StatusOK, map[string]any{"eventMessages": []any{}})
			return
		}
		ch := ep.notify
		e.mu.Unlock()
		waitCtx(r.Context(), ch, left)
		e.mu.Lock()
		if r.Context().Err() != nil {
			return
		}
	}
}

func (e *Emulator) ackEventLocked(ev *event) {
	if ev.ignoreAck {
		return // lost: the event goes out again on the next poll
	}
	ev.acked = true
}

// handleAck is POST /v1/users/ME/conversations/ALL/messages/{id}/ack.
func (e *Emulator) handleAck(w http.ResponseWriter, ep *endpoint, id string) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		svcError(w, http.StatusBadRequest, 400, "bad message id")
		return
	}
	for _, ev := range ep.queue {
		if ev.msgID == n && ev.delivered {
			e.ackEventLocked(ev)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// regTokenOf reads the token from "registrationToken=<t>", the whole
// Set-RegistrationToken string, or a bare token.
func regTokenOf(h string) string {
	h = strings.TrimSpace(h)
	for _, part := range strings.Split(h, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(k, "registrationToken") {
			return strings.TrimSpace(v)
		}
	}
	if h != "" && !strings.ContainsAny(h, ";= ") {
		return h
	}
	return ""
}
