// Package skypeemu emulates the consumer Skype web services of skpy's era
// (login.live.com SOAP and web sign-in, edge skypetoken, the messaging host
// with endpoints, subscriptions and long poll, ASM files, contacts and
// profiles) for tests. It is multi-user and driven by tests ("alice sends
// hi into the chat with bob", "what did the bridge user send"), with fault
// injection for every failure the client must survive.
//
// Every service is served from one listener (the paths do not collide); a
// second listener plays the regional messaging host a registration can be
// redirected to.
package skypeemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Options tune the emulator.
type Options struct {
	// PollHold is how long an empty poll is held; default 30 s like the service.
	PollHold time.Duration
	// NoRedelivery stops un-acked message events from being delivered again.
	NoRedelivery bool
	// AcceptAnyLockAndKey skips checking the LockAndKey checksum (the header
	// must still be present).
	AcceptAnyLockAndKey bool
	// TokenLifetime is the skypetoken lifetime; default 24 h.
	TokenLifetime time.Duration
	// RegistrationLifetime is the registration token lifetime; default 24 h.
	RegistrationLifetime time.Duration
	Log                  zerolog.Logger
	// Addr is the main listener's address (e.g. 127.0.0.1:29344, for the
	// demo's fixed port); "" picks a free loopback port.
	Addr string
	// OnMessage, when set, is told of every message a user posts through
	// the API (not the driver's), in its own goroutine: the demo's
	// colleagues answer through it.
	OnMessage func(Posted)
}

// Posted is a message a user posted through the API.
type Posted struct {
	// Thread is the group's id, or "" in a 1:1.
	Thread  string
	From    string   // sender's MRI
	Members []string // the conversation's members' MRIs, sender included
	Type    string   // messagetype
	Content string
}

// Emulator is the fake Skype service.
type Emulator struct {
	opts Options
	srv  *httptest.Server
	alt  *httptest.Server
	// omitMembers makes thread answers leave out their member list, as a
	// thread read that is cut short or a service variant may.
	omitMembers bool
	// omitResources is how many more message events go out without their
	// resource (only the resourceLink names the message).
	omitResources int

	mu        sync.Mutex
	users     map[string]*User // by skype name
	tokens    map[string]*tokenInfo
	tickets   map[string]*User // SOAP compact tickets and Live t values
	opids     map[string]*User
	ppft      map[string]bool
	regs      map[string]*endpoint // registration token -> endpoint
	convs     map[string]*conv     // by internal key
	objects   map[string]*object
	lastMsgID int64
	faults    []*fault
	requests  []Request
	typing    []TypingEvent
	now       func() time.Time
}

// Request is one call the emulator served (for asserting where credentials went).
type Request struct {
	Method string
	Host   string
	Path   string
	// RawPath is the path as sent (escaped form).
	RawPath string
	// Credential names the credential header the call carried:
	// "skypetoken", "registration", "asm", "x-skypetoken" or "".
	Credential string
	// RegistrationToken is the token a RegistrationToken header named.
	RegistrationToken string
}

type tokenInfo struct {
	user    *User
	expires time.Time
	revoked bool
}

// User is an account of the emulated service.
type User struct {
	Name        string // skype name, e.g. "live:alice"
	Email       string
	DisplayName string
	Password    string
	// AppPassword signs in through SOAP even when TwoStep is set.
	AppPassword string
	// TwoStep makes SOAP refuse the normal password and the Live flow ask
	// for an action in the browser.
	TwoStep bool
	// SOAPRefused makes SOAP refuse this account (the Live flow works).
	SOAPRefused bool
	Mood        string
	Status      string

	contacts  []string // MRIs
	invites   []string
	endpoints map[string]*endpoint
	altHost   bool // registrations live on the alternate host
	redirect  int  // pending redirects of the endpoints call
	regCount  int
	horizons  map[string]string // conv key -> horizon
	cleared   map[string]int64  // conv key -> history cleared at (ms)
}

// MRI is 8:<skype name>.
func (u *User) MRI() string { return "8:" + u.Name }

// New creates an emulator; call Start before use.
func New(o Options) *Emulator {
	if o.PollHold <= 0 {
		o.PollHold = 30 * time.Second
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 24 * time.Hour
	}
	if o.RegistrationLifetime <= 0 {
		o.RegistrationLifetime = 24 * time.Hour
	}
	return &Emulator{opts: o, users: map[string]*User{}, tokens: map[string]*tokenInfo{}, tickets: map[string]*User{},
		opids: map[string]*User{}, ppft: map[string]bool{}, regs: map[string]*endpoint{}, convs: map[string]*conv{},
		objects: map[string]*object{}, now: time.Now}
}

// Start listens on 127.0.0.1 (two listeners: main and regional messaging host).
func (e *Emulator) Start() {
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	if e.opts.Addr != "" {
		ln, err := net.Listen("tcp", e.opts.Addr)
		if err != nil {
			panic(fmt.Sprintf("skypeemu: listen on %s: %v", e.opts.Addr, err))
		}
		_ = e.srv.Listener.Close()
		e.srv.Listener = ln
	}
	e.srv.Start()
	e.alt = httptest.NewServer(http.HandlerFunc(e.serve))
}

// Close stops both listeners.
func (e *Emulator) Close() {
	e.mu.Lock()
	for _, ep := range e.regs {
		ep.wake()
	}
	e.mu.Unlock()
	e.srv.CloseClientConnections()
	e.alt.CloseClientConnections()
	e.srv.Close()
	e.alt.Close()
}

// URL is the root of every service (login, edge, api, contacts, ASM and
// the first messaging host).
func (e *Emulator) URL() string { return e.srv.URL }

// AltURL is the regional messaging host registrations may be redirected to.
func (e *Emulator) AltURL() string { return e.alt.URL }

// AddUser creates an account with a password; name is the Skype name.
func (e *Emulator) AddUser(name, displayName, password string) *User {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := &User{Name: name, DisplayName: displayName, Password: password, Email: strings.TrimPrefix(name, "live:") + "@example.com",
		endpoints: map[string]*endpoint{}, horizons: map[string]string{}, cleared: map[string]int64{}, Status: "Offline"}
	e.users[name] = u
	return u
}

// Configure changes a user under the emulator's lock.
func (e *Emulator) Configure(name string, fn func(u *User)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e.mustUser(name))
}

// MintToken issues a skypetoken for a user directly (for token logins).
func (e *Emulator) MintToken(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mintTokenLocked(e.mustUser(name))
}

func (e *Emulator) mintTokenLocked(u *User) string {
	t := "skt-" + randHex(16)
	e.tokens[t] = &tokenInfo{user: u, expires: e.now().Add(e.opts.TokenLifetime)}
	return t
}

func (e *Emulator) mustUser(name string) *User {
	u := e.users[strings.TrimPrefix(name, "8:")]
	if u == nil {
		panic("skypeemu: unknown user " + name)
	}
	return u
}

func (e *Emulator) userByLogin(login string) *User {
	login = strings.ToLower(strings.TrimSpace(login))
	for _, u := range e.users {
		if strings.ToLower(u.Name) == login || strings.ToLower(u.Email) == login || "live:"+login == strings.ToLower(u.Name) {
			return u
		}
	}
	return nil
}

// skypeTokenUser validates a skypetoken.
func (e *Emulator) skypeTokenUser(tok string) *User {
	ti := e.tokens[strings.TrimSpace(tok)]
	if ti == nil || ti.revoked || e.now().After(ti.expires) {
		return nil
	}
	return ti.user
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func svcError(w http.ResponseWriter, status int, code any, msg string) {
	writeJSON(w, status, map[string]any{"errorCode": code, "message": msg})
}

// fault is a scripted failure of the next matching calls.
type fault struct {
	method, path string // path substring; method "" = any
	status       int
	code         any
	header       http.Header
	left         int
}

// FailNext makes the next n calls whose path ends with pathPart (and whose
// method matches, "" for any) answer status with {"errorCode":code}. Use it
// for 429, 803 throttling, 5xx.
func (e *Emulator) FailNext(method, pathPart string, status int, code any, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &fault{method: method, path: pathPart, status: status, code: code, left: n})
}

// FailNextWithRetryAfter is FailNext with a Retry-After header (seconds).
func (e *Emulator) FailNextWithRetryAfter(method, pathPart string, status int, code any, n int, retryAfter string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &fault{method: method, path: pathPart, status: status, code: code, left: n,
		header: http.Header{"Retry-After": {retryAfter}}})
}

// ClearFaults cancels every scripted failure still pending.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

func (e *Emulator) takeFault(r *http.Request) *fault {
	for i, f := range e.faults {
		if (f.method == "" || f.method == r.Method) && strings.HasSuffix(r.URL.Path, f.path) {
			f.left--
			if f.left <= 0 {
				e.faults = append(e.faults[:i], e.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// Requests lists every call served so far.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.requests...)
}

func credentialOf(r *http.Request) string {
	switch {
	case r.Header.Get("RegistrationToken") != "":
		return "registration"
	case strings.HasPrefix(r.Header.Get("Authentication"), "skypetoken="):
		return "skypetoken"
	case strings.HasPrefix(r.Header.Get("Authorization"), "skype_token "):
		return "asm"
	case r.Header.Get("X-SkypeToken") != "":
		return "x-skypetoken"
	}
	return ""
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Credential: credentialOf(r),
		RegistrationToken: regTokenOf(r.Header.Get("RegistrationToken"))})
	if f := e.takeFault(r); f != nil {
		e.mu.Unlock()
		for k, v := range f.header {
			w.Header()[k] = v
		}
		svcError(w, f.status, f.code, "injected fault")
		return
	}
	e.mu.Unlock()
	p := r.URL.Path
	switch {
	case p == "/RST.srf":
		e.handleSOAP(w, r)
	case p == "/rps/v1/rps/skypetoken":
		e.handleEdge(w, r)
	case p == "/login/oauth/microsoft", p == "/oauth20_authorize.srf", p == "/ppsecure/post.srf", p == "/login/microsoft", p == "/login":
		e.handleLive(w, r)
	case p == "/login/skypetoken":
		e.handleAPILogin(w, r)
	case p == "/users/self/profile" || strings.HasPrefix(p, "/users/"):
		e.handleProfile(w, r)
	case strings.HasPrefix(p, "/contacts/v2/"):
		e.handleContacts(w, r)
	case p == "/profile/v1/batch/profiles":
		e.handleBatchProfiles(w, r)
	case strings.HasPrefix(p, "/v1/objects"):
		e.handleASM(w, r)
	case strings.HasPrefix(p, "/v1/"):
		e.handleMessaging(w, r)
	default:
		http.NotFound(w, r)
	}
}

// waitCtx is a helper for poll holds.
func waitCtx(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}
