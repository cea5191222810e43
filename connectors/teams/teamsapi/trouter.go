package teamsapi

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// TrouterConfig tunes the push channel.
type TrouterConfig struct {
	// EPID is the endpoint id; keep it across restarts (a new one per
	// connection hits "Endpoint limit exceeded"). NewEPID makes one.
	EPID string
	// OnEvent receives every chat-service event once (deduplicated by
	// delivery and by message id+version), in arrival order.
	OnEvent func(ctx context.Context, ev *chatsvc.EventMessage)
	// OnGap is called (in order with OnEvent) whenever pushes may have been
	// missed: after every reconnect (GapReconnect) and on
	// trouter.message_loss (GapMessageLoss). Catch up over REST there (see
	// CatchUp).
	OnGap func(ctx context.Context, reason string)
	// OnState reports connection changes (err is why it went down).
	OnState func(connected bool, err error)
	// OnOther receives pushes for other services (presence, calls) raw.
	OnOther func(service string, body []byte)
	// GapOnFirstConnect also calls OnGap after the first connection.
	GapOnFirstConnect bool

	PingInterval time.Duration // default 30s
	MinBackoff   time.Duration // default 1s
	MaxBackoff   time.Duration // default 60s
	// StableAfter: a connection that lived this long resets the backoff (default 60s).
	StableAfter time.Duration
	UserAgent   string
	Dedupe      *Deduper // shared with the REST catch-up; NewDeduper(0) if nil
}

// The reasons OnGap is called with.
const (
	// GapReconnect: the socket (re)connected; pushes sent while it was down
	// are gone.
	GapReconnect = "reconnect"
	// GapMessageLoss: the server said it dropped pushes (trouter.message_loss),
	// which it may say after later pushes went through.
	GapMessageLoss = "message_loss"
)

// NewEPID returns a fresh endpoint id.
func NewEPID() string {
	b := make([]byte, 16)
	_, _ = crand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Trouter is the push-channel client of one account.
type Trouter struct {
	auth *Auth
	cfg  TrouterConfig

	mu        sync.Mutex
	connected bool
	everUp    bool
	connects  int
}

// NewTrouter prepares the push channel; Run drives it.
func (a *Auth) NewTrouter(cfg TrouterConfig) *Trouter {
	if cfg.EPID == "" {
		cfg.EPID = NewEPID()
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = 60 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0 Safari/537.36 Teams/24000"
	}
	if cfg.Dedupe == nil {
		cfg.Dedupe = NewDeduper(0)
	}
	return &Trouter{auth: a, cfg: cfg}
}

// EPID is the endpoint id in use.
func (t *Trouter) EPID() string { return t.cfg.EPID }

// Deduper is the dedupe memory shared with catch-up.
func (t *Trouter) Deduper() *Deduper { return t.cfg.Dedupe }

// Connected reports whether the socket is up and registered.
func (t *Trouter) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.connected
}

// Run keeps the push channel up until ctx ends or the credentials are
// dead (a ReloginError is returned then).
func (t *Trouter) Run(ctx context.Context) error {
	log := t.auth.cfg.Log.With().Str("component", "trouter").Str("epid", t.cfg.EPID).Logger()
	// One dispatcher goroutine keeps events and gaps in order while the
	// reader acks deliveries immediately.
	ctx, stop := context.WithCancel(ctx)
	work := make(chan func(), 4096)
	dispatchDone := make(chan struct{})
	go func() {
		defer close(dispatchDone)
		for {
			select {
			case f := <-work:
				f()
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		stop()
		<-dispatchDone
	}()
	backoff := t.cfg.MinBackoff
	for {
		start := time.Now()
		err := t.session(ctx, log, work)
		t.setConnected(false, err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrReloginNeeded) {
			log.Warn().Err(err).Msg("Trouter stopped: the account must sign in again")
			return err
		}
		if time.Since(start) > t.cfg.StableAfter {
			backoff = t.cfg.MinBackoff
		}
		wait := backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))
		log.Warn().Err(err).Dur("retry_in", wait).Msg("Trouter connection lost, reconnecting")
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, t.cfg.MaxBackoff)
	}
}

func (t *Trouter) setConnected(up bool, err error) {
	t.mu.Lock()
	changed := t.connected != up
	t.connected = up
	t.mu.Unlock()
	if changed && t.cfg.OnState != nil {
		t.cfg.OnState(up, err)
	}
}

type allocation struct {
	SocketIO      string        `json:"socketio"`
	SURL          string        `json:"surl"`
	ConnectParams connectParams `json:"connectparams"`
	CCID          string        `json:"ccid"`
}

// connectParams is the allocation's connectparams object. Servers send its
// values as strings, but a number (or a boolean) must not fail the
// allocation: each value is kept as its JSON text for the handshake query,
// and the object itself is handed back to user.authenticate as it came.
type connectParams struct {
	values map[string]string
	raw    json.RawMessage
}

func (p *connectParams) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = connectParams{}
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("connectparams: %w", err)
	}
	p.values = make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil:
			p.values[k] = s
		case string(v) == "null":
			p.values[k] = ""
		default: // a number, boolean or (unexpectedly) a structure: its JSON text
			p.values[k] = strings.TrimSpace(string(v))
		}
	}
	p.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON hands the object back unchanged (user.authenticate).
func (p connectParams) MarshalJSON() ([]byte, error) {
	if len(p.raw) == 0 {
		return []byte("{}"), nil
	}
	return p.raw, nil
}

// allocate runs POST /v4/a, re-minting the skypetoken once on 401.
func (t *Trouter) allocate(ctx context.Context) (*allocation, string, error) {
	for attempt := 0; ; attempt++ {
		s, err := t.auth.Skype(ctx)
		if err != nil {
			return nil, "", err
		}
		u := strings.TrimRight(t.auth.cfg.TrouterURL, "/") + "/v4/a?epid=" + url.QueryEscape(t.cfg.EPID)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		req.Header.Set("X-Skypetoken", s.Token)
		req.ContentLength = 0
		resp, err := t.auth.cfg.HTTPClient.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("trouter allocate: %w", err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			t.auth.InvalidateSkype(s.Token)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("trouter allocate: HTTP %d", resp.StatusCode)
		}
		var a allocation
		// surl may come only with trouter.connected (§3.4): registration
		// checks that one of the two named it.
		if err := json.Unmarshal(data, &a); err != nil || a.SocketIO == "" {
			return nil, "", fmt.Errorf("trouter allocate: malformed answer")
		}
		if !t.trouterHost(a.SocketIO) {
			return nil, "", fmt.Errorf("trouter allocate: %w: socketio %q", ErrForeignHost, a.SocketIO)
		}
		if err := t.auth.cfg.checkURL(a.SocketIO); err != nil {
			return nil, "", fmt.Errorf("trouter allocate: %w", err)
		}
		return &a, s.Token, nil
	}
}

// trouterHost accepts the configured Trouter host and its sibling hosts
// (go.trouter.teams.microsoft.com allocates trouter2-...trouter.teams.microsoft.com).
func (t *Trouter) trouterHost(raw string) bool {
	cand, err := url.Parse(raw)
	if err != nil {
		return false
	}
	base, err := url.Parse(t.auth.cfg.TrouterURL)
	if err != nil {
		return false
	}
	ch, bh := strings.ToLower(cand.Hostname()), strings.ToLower(base.Hostname())
	if ch == bh {
		return true
	}
	_, parent, ok := strings.Cut(bh, ".")
	return ok && strings.Count(parent, ".") >= 2 && strings.HasSuffix(ch, "."+parent)
}

func (t *Trouter) query(a *allocation) url.Values {
	q := url.Values{}
	q.Set("v", "v4")
	for k, v := range a.ConnectParams.values {
		q.Set(k, v)
	}
	tc, _ := json.Marshal(map[string]string{"cv": "2024.23.01.2", "ua": "TeamsCDL", "hr": "", "v": "1415/24000000000"})
	q.Set("tc", string(tc))
	t.mu.Lock()
	t.connects++
	n := t.connects
	t.mu.Unlock()
	q.Set("con_num", strconv.FormatInt(time.Now().UnixMilli(), 10)+"_"+strconv.Itoa(n))
	q.Set("epid", t.cfg.EPID)
	if a.CCID != "" {
		q.Set("ccid", a.CCID)
	}
	q.Set("auth", "true")
	q.Set("timeout", "40")
	return q
}

func (t *Trouter) handshake(ctx context.Context, a *allocation, tok string, q url.Values) (sid string, hb time.Duration, err error) {
	u := strings.TrimRight(a.SocketIO, "/") + "/socket.io/1/?" + q.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("X-Skypetoken", tok)
	req.Header.Set("User-Agent", t.cfg.UserAgent)
	resp, err := t.auth.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("trouter handshake: %w", err)
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		t.auth.InvalidateSkype(tok)
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("trouter handshake: HTTP %d", resp.StatusCode)
	}
	parts := strings.Split(strings.TrimSpace(string(data)), ":")
	if len(parts) < 4 || parts[0] == "" || !strings.Contains(parts[3], "websocket") {
		return "", 0, fmt.Errorf("trouter handshake: unexpected answer %.60q", data)
	}
	secs, _ := strconv.Atoi(parts[1])
	if secs <= 0 {
		secs = 40
	}
	return parts[0], time.Duration(secs) * time.Second, nil
}

// netDial is the dial function of the HTTP client's transport, so the
// socket is held to the same addresses as the REST requests: the
// connector's client refuses private and local addresses unless
// allow_insecure_http is set, and a socket URL (which the allocation
// answer names) must not get around that. Nil (the default dialer) when
// the client has no dial function of its own.
func (t *Trouter) netDial() func(ctx context.Context, network, addr string) (net.Conn, error) {
	hc := t.auth.cfg.HTTPClient
	if hc == nil {
		return nil
	}
	if tr, ok := hc.Transport.(*http.Transport); ok && tr.DialContext != nil {
		return tr.DialContext
	}
	return nil
}

// conn is one live socket.
type conn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	counter int
	pings   map[string]time.Time
}

func (c *conn) write(frame string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(15 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, []byte(frame))
}

// event sends a client event expecting an ack and returns its id.
func (c *conn) event(name string, args ...any) (string, error) {
	c.writeMu.Lock()
	c.counter++
	id := strconv.Itoa(c.counter)
	c.writeMu.Unlock()
	body := map[string]any{"name": name}
	if len(args) > 0 {
		body["args"] = args
	}
	b, _ := json.Marshal(body)
	return id, c.write("5:" + id + "+::" + string(b))
}

func (t *Trouter) session(ctx context.Context, log zerologLogger, work chan<- func()) error {
	a, tok, err := t.allocate(ctx)
	if err != nil {
		return err
	}
	q := t.query(a)
	sid, hb, err := t.handshake(ctx, a, tok, q)
	if err != nil {
		return err
	}
	wsURL, _ := url.Parse(strings.TrimRight(a.SocketIO, "/") + "/socket.io/1/websocket/" + url.PathEscape(sid))
	wsURL.RawQuery = q.Encode()
	switch wsURL.Scheme {
	case "https":
		wsURL.Scheme = "wss"
	case "http":
		wsURL.Scheme = "ws"
	}
	h := http.Header{}
	h.Set("X-Skypetoken", tok)
	h.Set("User-Agent", t.cfg.UserAgent)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, Proxy: http.ProxyFromEnvironment, NetDialContext: t.netDial()}
	ws, resp, err := dialer.DialContext(ctx, wsURL.String(), h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("trouter websocket: %w", err)
	}
	c := &conn{ws: ws, pings: map[string]time.Time{}}
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-sessCtx.Done()
		_ = ws.Close()
	}()
	readTimeout := max(2*hb, 2*t.cfg.PingInterval)
	state := &sessionState{a: a, deliveries: NewDeduper(4096)}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(readTimeout))
		_, data, err := ws.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("trouter socket: %w", err)
		}
		f, err := ParseFrame(string(data))
		if err != nil {
			log.Warn().Err(err).Msg("Ignoring malformed Trouter frame")
			continue
		}
		if err := t.handleFrame(sessCtx, log, c, state, f, work); err != nil {
			return err
		}
	}
}

type sessionState struct {
	a          *allocation
	ready      bool
	deliveries *Deduper
	bearer     string // the access token user.authenticate offered
}

// connectedSURL is the surl a trouter.connected event carries, if any.
func connectedSURL(ev *Event) string {
	for _, raw := range ev.Args {
		var a struct {
			SURL string `json:"surl"`
		}
		if json.Unmarshal(raw, &a) == nil && strings.TrimSpace(a.SURL) != "" {
			return strings.TrimSpace(a.SURL)
		}
	}
	return ""
}

// trouterAuthRefused reports a trouter.error that refuses the credentials
// (code 401 or 403).
func trouterAuthRefused(ev *Event) bool {
	for _, raw := range ev.Args {
		var a struct {
			Code json.Number `json:"code"`
		}
		if json.Unmarshal(raw, &a) == nil && (a.Code == "401" || a.Code == "403") {
			return true
		}
	}
	return false
}

func (t *Trouter) handleFrame(ctx context.Context, log zerologLogger, c *conn, st *sessionState, f Frame, work chan<- func()) error {
	switch f.Type {
	case 0:
		return errors.New("trouter: server disconnected")
	case 1:
		return t.authenticate(ctx, c, st)
	case 2:
		return c.write("2::")
	case 3:
		d, err := ParseDelivery(f.Data)
		if err != nil {
			log.Warn().Err(err).Msg("Ignoring malformed Trouter delivery")
			return nil
		}
		// Ack first: processing may be slow, and an unacked delivery is resent.
		if err := c.write(d.AckFrame()); err != nil {
			return err
		}
		if !st.deliveries.First(d.ID.String()) {
			log.Debug().Str("delivery", d.ID.String()).Msg("Dropping redelivered Trouter push (already handled)")
			return nil
		}
		payload, err := d.Payload()
		if err != nil {
			log.Warn().Err(err).Str("url", d.URL).Msg("Dropping Trouter push with an undecodable body")
			return nil
		}
		t.route(ctx, log, d.Service(), payload, work)
	case 5:
		ev, err := ParseEvent(f.Data)
		if err != nil {
			log.Warn().Err(err).Msg("Ignoring malformed Trouter event")
			return nil
		}
		switch ev.Name {
		case "trouter.connected":
			if st.ready {
				return nil
			}
			if surl := connectedSURL(ev); surl != "" && surl != st.a.SURL {
				// Some servers name the delivery URL only here, or a
				// newer one than the allocation's (§3.4): deliveries are
				// registered to the one the connected socket has.
				log.Debug().Msg("Trouter names the delivery URL on connect; registering that one")
				st.a.SURL = surl
			}
			if err := t.register(ctx, st.a); err != nil {
				return err
			}
			if _, err := c.event("user.activity", map[string]string{"state": "active", "cv": randomCV()}); err != nil {
				return err
			}
			st.ready = true
			t.mu.Lock()
			first := !t.everUp
			t.everUp = true
			t.mu.Unlock()
			t.setConnected(true, nil)
			go t.keepAlive(ctx, c, st.a)
			if !first || t.cfg.GapOnFirstConnect {
				t.enqueueGap(ctx, work, GapReconnect)
			}
		case "trouter.message_loss":
			log.Warn().Msg("Trouter reports lost pushes; catching up over REST")
			args := make([]any, len(ev.Args))
			for i, a := range ev.Args {
				args[i] = a
			}
			if _, err := c.event("trouter.processed_message_loss", args...); err != nil {
				return err
			}
			t.enqueueGap(ctx, work, GapMessageLoss)
		case "trouter.error":
			if st.bearer != "" && trouterAuthRefused(ev) {
				// The token died before its local expiry (revoked, or the
				// clocks disagree): the next connection mints a new one
				// rather than offering this one again.
				t.auth.InvalidateAccess(t.auth.SkypeScope(), st.bearer)
			}
			return fmt.Errorf("trouter: server error %s", f.Data)
		default:
			log.Debug().Str("event", ev.Name).Msg("Ignoring Trouter event")
		}
	case 6:
		a, err := ParseAck(f.Data)
		if err == nil {
			c.writeMu.Lock()
			delete(c.pings, a.ID)
			c.writeMu.Unlock()
		}
	case 7:
		return fmt.Errorf("trouter: socket.io error %q", f.Data)
	}
	return nil
}

func (t *Trouter) enqueueGap(ctx context.Context, work chan<- func(), reason string) {
	if t.cfg.OnGap == nil {
		return
	}
	select {
	case work <- func() { t.cfg.OnGap(ctx, reason) }:
	case <-ctx.Done():
	}
}

func (t *Trouter) route(ctx context.Context, log zerologLogger, service string, payload []byte, work chan<- func()) {
	if service != "messaging" {
		if t.cfg.OnOther != nil {
			select {
			case work <- func() { t.cfg.OnOther(service, payload) }:
			case <-ctx.Done():
			}
		}
		return
	}
	ev, err := chatsvc.ParseEventMessage(payload)
	if err != nil {
		log.Warn().Err(err).Msg("Dropping undecodable messaging push")
		return
	}
	if ev.ResourceType == chatsvc.ResourceNewMessage || ev.ResourceType == chatsvc.ResourceMessageUpdate {
		m, err := ev.Message()
		if err != nil {
			log.Warn().Err(err).Msg("Dropping messaging push with an undecodable message")
			return
		}
		k := m.Kind()
		if k != chatsvc.KindTyping && k != chatsvc.KindClearTyping && !t.cfg.Dedupe.FirstMessage(m) {
			log.Debug().Str("message", string(m.ID)).Str("version", string(m.Version)).Msg("Dropping push of an already handled message version")
			return
		}
	}
	if t.cfg.OnEvent == nil {
		return
	}
	select {
	case work <- func() { t.cfg.OnEvent(ctx, ev) }:
	case <-ctx.Done():
	}
}

func (t *Trouter) authenticate(ctx context.Context, c *conn, st *sessionState) error {
	bearer, err := t.auth.AccessToken(ctx, t.auth.SkypeScope())
	if err != nil {
		return err
	}
	st.bearer = bearer
	args := map[string]any{"headers": map[string]string{"X-Ms-Test-User": "False", "Authorization": "Bearer " + bearer, "X-MS-Migration": "True"},
		"connectparams": st.a.ConnectParams}
	b, _ := json.Marshal(map[string]any{"name": "user.authenticate", "args": []any{args}})
	return c.write("5:::" + string(b))
}

// register posts the messaging worker registration(s) to the registrar,
// in the configured order.
func (t *Trouter) register(ctx context.Context, a *allocation) error {
	if a.SURL == "" {
		return errors.New("trouter registration: neither the allocation nor trouter.connected named a delivery URL (surl)")
	}
	for _, reg := range t.auth.cfg.Registrations {
		if err := t.registerOne(ctx, a, reg); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trouter) registerOne(ctx context.Context, a *allocation, reg Registration) error {
	templateKey := reg.TemplateKey
	desc := map[string]any{"appId": RegistrationAppID, "aesKey": "", "languageId": "en-US", "platform": "edge",
		"templateKey": templateKey, "platformUIVersion": "49/24062722442"}
	if reg.ProductContext != nil {
		desc["productContext"] = *reg.ProductContext
	}
	body, _ := json.Marshal(map[string]any{"clientDescription": desc, "registrationId": t.cfg.EPID, "nodeId": "",
		"transports": map[string]any{"TROUTER": []any{map[string]any{"context": "", "path": a.SURL, "ttl": 86400}}}})
	for attempt := 0; ; attempt++ {
		s, err := t.auth.Skype(ctx)
		if err != nil {
			return err
		}
		bearer, err := t.auth.AccessToken(ctx, t.auth.SkypeScope())
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.auth.cfg.RegistrarURL, strings.NewReader(string(body)))
		req.Header.Set("X-Skypetoken", s.Token)
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := t.auth.cfg.HTTPClient.Do(req)
		if err != nil {
			return fmt.Errorf("trouter registration: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			t.auth.InvalidateSkype(s.Token)
			t.auth.InvalidateAccess(t.auth.SkypeScope(), bearer)
			continue
		}
		if resp.StatusCode >= 300 {
			return fmt.Errorf("trouter registration %s: HTTP %d", templateKey, resp.StatusCode)
		}
		return nil
	}
}

// keepAlive pings every PingInterval (a missing pong kills the socket) and
// re-registers before the registration's ttl runs out.
func (t *Trouter) keepAlive(ctx context.Context, c *conn, a *allocation) {
	ping := time.NewTicker(t.cfg.PingInterval)
	defer ping.Stop()
	rereg := time.NewTimer(86400*time.Second - 10*time.Minute)
	defer rereg.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			c.writeMu.Lock()
			stale := len(c.pings) > 0
			c.writeMu.Unlock()
			if stale {
				t.auth.cfg.Log.Warn().Msg("Trouter ping unanswered, dropping the socket")
				_ = c.ws.Close()
				return
			}
			id, err := c.event("ping")
			if err != nil {
				return
			}
			c.writeMu.Lock()
			c.pings[id] = time.Now()
			c.writeMu.Unlock()
		case <-rereg.C:
			if err := t.register(ctx, a); err != nil {
				t.auth.cfg.Log.Warn().Err(err).Msg("Trouter re-registration failed, reconnecting")
				_ = c.ws.Close()
				return
			}
			rereg.Reset(86400*time.Second - 10*time.Minute)
		}
	}
}

// randomCV makes a correlation vector: 21 base64 chars, one of A g Q w, ".0.1".
func randomCV() string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	for i := 0; i < 21; i++ {
		sb.WriteByte(b64[rand.IntN(64)])
	}
	sb.WriteByte("AgQw"[rand.IntN(4)])
	return sb.String() + ".0.1"
}
