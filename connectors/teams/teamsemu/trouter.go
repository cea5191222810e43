package teamsemu

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// CDLWorkerAppID is the registrar app whose registration enables message
// deliveries to an endpoint.
const CDLWorkerAppID = "TeamsCDLWebWorker"

// serverEvent keeps "name" before "args" as the real server writes it.
type serverEvent struct {
	Name string `json:"name"`
	Args []any  `json:"args"`
}

type allocation struct {
	key, epid string
	user      *User
	sig       string
	surl      string
	ccid      string
}

type registration struct {
	AppID, TemplateKey, Path, RegistrationID string
}

type endpoint struct {
	epid          string
	user          *User
	alloc         *allocation
	registrations []registration
	sess          *trouterSession // the authenticated live session, if any
	lost          bool            // events missed while no session could take them
	hold          bool
	held          int
	nextID        int64
	pending       map[int64]*delivery
	loseAcks      int
	mutePongs     bool
	delivered     int
	acked         int
	connects      int
}

type delivery struct {
	id    int64
	frame string
	sess  *trouterSession
	tries int
}

type trouterSession struct {
	sid   string
	ep    *endpoint
	conn  *websocket.Conn
	out   chan string
	done  chan struct{}
	authd bool
	seq   int
	dead  bool
}

type closeMode int

const (
	closeReset closeMode = iota // TCP reset: no close frame
	closeClean                  // websocket close frame, then close
)

// registeredForMessaging reports whether the CDL worker is registered for
// the endpoint's current surl.
func (ep *endpoint) registeredForMessaging() bool {
	if ep.alloc == nil {
		return false
	}
	for _, r := range ep.registrations {
		if strings.EqualFold(r.AppID, CDLWorkerAppID) && strings.TrimRight(r.Path, "/") == strings.TrimRight(ep.alloc.surl, "/") {
			return true
		}
	}
	return false
}

// handleAllocate serves POST /v4/a.
func (e *Emulator) handleAllocate(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.skypeUserLocked(r)
	if u == nil {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "skypetoken missing or expired")
		return
	}
	epid := r.URL.Query().Get("epid")
	if epid == "" {
		svcError(w, http.StatusBadRequest, "BadArgument", "epid is required")
		return
	}
	a := &allocation{key: "V_" + randHex(6), epid: epid, user: u, sig: randHex(16), ccid: randHex(6)}
	a.surl = e.base + "/v4/f/" + a.key + "/"
	e.allocs[a.key] = a
	ep := e.eps[epid]
	if ep == nil {
		ep = &endpoint{epid: epid, user: u, pending: map[int64]*delivery{}, nextID: 1000000}
		e.eps[epid] = ep
	}
	ep.alloc = a
	now := e.now()
	params := map[string]any{"sr": a.key, "issuer": "prod-2", "sp": "connect",
		"se": strconv.FormatInt(now.Add(7*24*time.Hour).UnixMilli(), 10), "st": strconv.FormatInt(now.UnixMilli(), 10), "sig": a.sig}
	if e.opts.NumericConnectParams {
		params["se"], params["st"] = now.Add(7*24*time.Hour).UnixMilli(), now.UnixMilli()
	}
	answer := map[string]any{"socketio": e.base + "/", "surl": a.surl, "ccid": a.ccid, "connectparams": params}
	if e.opts.SURLOnConnectOnly {
		delete(answer, "surl")
	}
	writeJSON(w, http.StatusOK, answer)
}

// handleHandshake serves GET /socket.io/1/.
func (e *Emulator) handleHandshake(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.skypeUserLocked(r)
	q := r.URL.Query()
	ep := e.eps[q.Get("epid")]
	if u == nil || ep == nil || ep.alloc == nil || ep.alloc.sig != q.Get("sig") || ep.user != u {
		http.Error(w, "handshake unauthorized", http.StatusUnauthorized)
		return
	}
	s := &trouterSession{sid: randHex(8) + "-" + randHex(8), ep: ep, out: make(chan string, 4096), done: make(chan struct{})}
	e.sessions[s.sid] = s
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s:40:60:websocket,xhr-polling", s.sid)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// handleWebsocket serves GET /socket.io/1/websocket/{sid}.
func (e *Emulator) handleWebsocket(w http.ResponseWriter, r *http.Request, sid string) {
	e.mu.Lock()
	s := e.sessions[sid]
	if s == nil || s.conn != nil || s.dead {
		e.mu.Unlock()
		http.Error(w, "unknown session", http.StatusNotFound)
		return
	}
	e.mu.Unlock()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	e.mu.Lock()
	s.conn = conn
	e.mu.Unlock()
	go s.writer()
	s.send("1::")
	e.readLoop(s)
}

// closeFrame tells the writer to send a websocket close after the frames
// queued before it, so a final error event still reaches the client.
const closeFrame = "\x00close"

func (s *trouterSession) writer() {
	for {
		select {
		case f := <-s.out:
			if f == closeFrame {
				_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing"), time.Now().Add(time.Second))
				_ = s.conn.Close()
				return
			}
			if s.conn.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
				_ = s.conn.Close()
				return
			}
		case <-s.done:
			return
		}
	}
}

// send queues a frame; a session too slow to drain is cut off.
func (s *trouterSession) send(frame string) {
	if s.dead {
		return
	}
	select {
	case s.out <- frame:
	default:
		s.closeLocked(closeReset)
	}
}

func (s *trouterSession) closeLocked(mode closeMode) {
	if s.dead {
		return
	}
	if mode == closeClean && s.conn != nil {
		select {
		case s.out <- closeFrame:
			s.dead = true
			return
		default: // queue full: reset instead
		}
	}
	s.dead = true
	close(s.done)
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

func (e *Emulator) readLoop(s *trouterSession) {
	defer func() {
		e.mu.Lock()
		s.closeLocked(closeReset)
		delete(e.sessions, s.sid)
		if s.ep.sess == s {
			s.ep.sess = nil
			if len(s.ep.pending) > 0 {
				// Unacked deliveries die with the socket: the client learns
				// of the gap through message_loss on its next connection.
				s.ep.lost = true
				s.ep.pending = map[int64]*delivery{}
			}
		}
		e.broadcast()
		e.mu.Unlock()
	}()
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		e.handleFrame(s, string(data))
	}
}

// handleFrame processes one client frame of the socket.io 0.9 grammar.
func (e *Emulator) handleFrame(s *trouterSession, frame string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	typ, id, data, ok := splitFrame(frame)
	if !ok {
		return
	}
	switch typ {
	case "0":
		s.closeLocked(closeClean)
	case "2":
		s.send("2::")
	case "3":
		var resp struct {
			ID     int64 `json:"id"`
			Status int   `json:"status"`
		}
		if json.Unmarshal([]byte(data), &resp) != nil {
			return
		}
		ep := s.ep
		if ep.loseAcks > 0 {
			ep.loseAcks--
			return
		}
		if _, ok := ep.pending[resp.ID]; ok && resp.Status >= 200 && resp.Status < 300 {
			delete(ep.pending, resp.ID)
			ep.acked++
			e.broadcast()
		}
	case "5":
		var ev struct {
			Name string            `json:"name"`
			Args []json.RawMessage `json:"args"`
		}
		if json.Unmarshal([]byte(data), &ev) != nil {
			return
		}
		ackID := strings.TrimSuffix(id, "+")
		if ev.Name == "user.authenticate" {
			e.authenticateLocked(s, ev.Args)
			return
		}
		if !s.authd {
			return
		}
		switch ev.Name {
		case "ping":
			if ackID != "" && !s.ep.mutePongs {
				s.send("6:::" + ackID + `+["pong"]`)
			}
		default: // user.activity, trouter.processed_message_loss, ...
			if ackID != "" {
				s.send("6:::" + ackID + "+[]")
			}
		}
	}
}

// splitFrame splits "<type>:<id>[+]:<endpoint>:<data>".
func splitFrame(f string) (typ, id, data string, ok bool) {
	parts := strings.SplitN(f, ":", 4)
	if len(parts) < 3 {
		return "", "", "", false
	}
	if len(parts) == 4 {
		data = parts[3]
	}
	return parts[0], parts[1], data, true
}

func (e *Emulator) authenticateLocked(s *trouterSession, args []json.RawMessage) {
	var a struct {
		Headers map[string]string `json:"headers"`
		// Any JSON scalar: the client hands back what the allocation sent.
		ConnectParams map[string]any `json:"connectparams"`
	}
	if len(args) == 0 || json.Unmarshal(args[0], &a) != nil {
		s.closeLocked(closeClean)
		return
	}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	for k, v := range a.Headers {
		req.Header.Set(k, v)
	}
	u := e.bearerUserLocked(req, "")
	if u == nil || u != s.ep.user || fmt.Sprint(a.ConnectParams["sig"]) != s.ep.alloc.sig {
		s.send(`5:1::{"name":"trouter.error","args":[{"code":401,"reason":"authentication failed"}]}`)
		s.closeLocked(closeClean)
		return
	}
	ep := s.ep
	if old := ep.sess; old != nil && old != s {
		old.closeLocked(closeClean)
	}
	s.authd = true
	ep.sess = s
	ep.connects++
	s.seq++
	conn, _ := json.Marshal(serverEvent{Name: "trouter.connected", Args: []any{map[string]any{"ttl": 568298, "dur": "1", "surl": ep.alloc.surl}}})
	s.send(fmt.Sprintf("5:%d::%s", s.seq, conn))
	if ep.lost {
		e.sendLossLocked(ep)
	}
	e.broadcast()
}

func (e *Emulator) sendLossLocked(ep *endpoint) {
	s := ep.sess
	if s == nil {
		ep.lost = true
		return
	}
	ep.lost = false
	s.seq++
	etag := e.now().UTC().Format("2006-01-02T15:04:05.0000000Z")
	loss, _ := json.Marshal(serverEvent{Name: "trouter.message_loss", Args: []any{map[string]any{"droppedIndicators": []any{
		map[string]string{"tag": "messaging", "etag": etag}, map[string]string{"tag": "messagingsync", "etag": etag}}}}})
	s.send(fmt.Sprintf("5:%d::%s", s.seq, loss))
}

// handleRegistrar serves POST /registrar/prod/V2/registrations.
func (e *Emulator) handleRegistrar(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientDescription struct {
			AppID       string `json:"appId"`
			TemplateKey string `json:"templateKey"`
		} `json:"clientDescription"`
		RegistrationID string `json:"registrationId"`
		Transports     struct {
			Trouter []struct {
				Path string `json:"path"`
				TTL  int    `json:"ttl"`
			} `json:"TROUTER"`
		} `json:"transports"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Transports.Trouter) == 0 || body.ClientDescription.AppID == "" {
		svcError(w, http.StatusBadRequest, "BadRequest", "registration needs clientDescription.appId and transports.TROUTER")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.skypeUserLocked(r)
	if u == nil || e.bearerUserLocked(r, "") != u {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "skypetoken and bearer token required")
		return
	}
	path := body.Transports.Trouter[0].Path
	var ep *endpoint
	for _, cand := range e.eps {
		if cand.user == u && cand.alloc != nil && strings.HasPrefix(path, strings.TrimRight(cand.alloc.surl, "/")) {
			ep = cand
		}
	}
	if ep == nil {
		svcError(w, http.StatusBadRequest, "BadRequest", "transport path is no allocated surl")
		return
	}
	if strings.EqualFold(body.ClientDescription.AppID, CDLWorkerAppID) && body.RegistrationID != ep.epid {
		svcError(w, http.StatusBadRequest, "BadRequest", "the messaging worker must register with the endpoint id")
		return
	}
	ep.registrations = append(ep.registrations, registration{AppID: body.ClientDescription.AppID, TemplateKey: body.ClientDescription.TemplateKey, Path: path, RegistrationID: body.RegistrationID})
	e.broadcast()
	w.WriteHeader(http.StatusAccepted)
}

// fanOutLocked pushes an event about m to every member's endpoints
// (including the sender's: the echo), except skip.
func (e *Emulator) fanOutLocked(c *conv, resourceType string, m *message, skip string) {
	for mri := range c.members {
		if mri == skip || (skip == "" && strings.HasPrefix(m.mtype, "Control/") && mri == m.from) {
			continue
		}
		res := e.messageView(c, m)
		res["to"] = c.publicID()
		res["threadtype"] = c.threadType
		res["isactive"] = true
		e.pushLocked(mri, resourceType, res["conversationLink"].(string)+"/messages/"+strconv.FormatInt(m.id, 10), res)
	}
}

func (e *Emulator) fanOutConversationLocked(c *conv, u *User) {
	e.pushLocked(u.MRI, "ConversationUpdate", e.convLink(c.publicID()), e.conversationView(c, u))
}

func (e *Emulator) fanOutThreadLocked(c *conv) {
	view := e.threadView(c)
	for mri := range c.members {
		e.pushLocked(mri, "ThreadUpdate", e.base+"/v1/threads/"+c.publicID(), view)
	}
}

func (e *Emulator) pushLocked(mri, resourceType, link string, resource any) {
	for _, ep := range e.eps {
		if ep.user.MRI != mri {
			continue
		}
		ep.nextID++
		ev := map[string]any{"id": ep.nextID, "type": "EventMessage", "resourceType": resourceType,
			"time": e.now().UTC().Format(time.RFC3339), "resourceLink": link, "resource": resource}
		e.deliverLocked(ep, ev)
	}
}

func (e *Emulator) deliverLocked(ep *endpoint, ev map[string]any) {
	s := ep.sess
	if s == nil || !s.authd || s.dead || !ep.registeredForMessaging() {
		if ep.alloc != nil {
			ep.lost = true
		}
		return
	}
	if ep.hold {
		ep.held++
		return
	}
	payload, _ := json.Marshal(ev)
	body := string(payload)
	headers := map[string]string{"Content-Type": "application/json; charset=utf-8", "X-Microsoft-Skype-Chain-ID": randUUID(),
		"X-Microsoft-Skype-Message-ID": randHex(8), "Trouter-Timeout": strconv.Itoa(int(e.opts.AckTimeout / time.Millisecond)),
		"MS-CV": randHex(11) + ".1", "trouter-request": fmt.Sprintf(`{"id":"%s","src":"10.0.0.1","port":3443}`, randUUID())}
	if e.opts.GzipDeliveries {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(payload)
		_ = zw.Close()
		body = base64.StdEncoding.EncodeToString(buf.Bytes())
		headers["X-Microsoft-Skype-Content-Encoding"] = "gzip"
	}
	ep.nextID++
	d := &delivery{id: ep.nextID, sess: s}
	frame, _ := json.Marshal(struct {
		ID      int64             `json:"id"`
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}{d.id, "POST", "/v4/f/" + ep.alloc.key + "/messaging", headers, body})
	d.frame = "3:::" + string(frame)
	ep.pending[d.id] = d
	e.sendDeliveryLocked(ep, d)
}

func (e *Emulator) sendDeliveryLocked(ep *endpoint, d *delivery) {
	d.tries++
	ep.delivered++
	d.sess.send(d.frame)
	time.AfterFunc(e.opts.AckTimeout, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if ep.pending[d.id] != d || d.sess.dead || d.tries >= 5 {
			return
		}
		e.sendDeliveryLocked(ep, d)
	})
}
