// Package teamsemu emulates the Microsoft Teams services a web client talks
// to — the AAD device-code and token endpoints, the two authz endpoints, the
// chat service, AMS, the registrar and Trouter over a real websocket — for
// many users at once, with a driver API for tests ("Bob sends hi into the
// group") and fault injection (throttling, expired and revoked tokens,
// dropped sockets, lost deliveries and acks).
//
// Every service lives under one base URL; the authz answer's regionGtms
// points the client at it, as the real service points at regional hosts.
package teamsemu

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Options configures an emulator.
type Options struct {
	AccessTokenTTL time.Duration // default 1h
	SkypeTokenTTL  time.Duration // default 24h
	DeviceCodeTTL  time.Duration // default 15m
	// RefreshTokenTTL ends refresh tokens (AADSTS700082); 0 = they never expire.
	RefreshTokenTTL time.Duration
	// DeviceInterval is the poll interval the device-code answer asks for, in
	// seconds (default 1, the minimum a client can be asked for).
	DeviceInterval int
	// AckTimeout is how long a Trouter delivery waits for its ack before it
	// is sent again (default 2s).
	AckTimeout time.Duration
	// GzipDeliveries sends Trouter bodies as base64(gzip(JSON)).
	GzipDeliveries bool
	// ConsumerRegionGtms adds regionGtms to the consumer authz answer (the
	// sources disagree on whether it is there).
	ConsumerRegionGtms bool
	// LenientRotation keeps a refresh token valid after it was rotated (AAD
	// allows reuse for a while); by default a used refresh token dies.
	LenientRotation bool
	// OmitLocation answers sends without a Location header (the sources
	// disagree on whether it is there; OriginalArrivalTime always is).
	OmitLocation bool
	// UntitledChannels leaves the topic out of team threads' properties (the
	// root's and the channels'), so their names are only in the team
	// directory (CSA), as some services answer.
	UntitledChannels bool
	// MeetingSubjectOnly gives meeting threads no topic, only their subject
	// in threadProperties.meeting (a JSON string), as some services answer.
	MeetingSubjectOnly bool
	// NumericConnectParams sends the allocation's se and st connect params
	// as JSON numbers (teams-web §3.1 shows strings; servers vary).
	NumericConnectParams bool
	// SURLOnConnectOnly leaves surl out of the allocation answer: only
	// trouter.connected names it (§3.4 "some versions include surl").
	SURLOnConnectOnly bool
	// OnMessage sees every new message (not edits), in order, outside the
	// emulator lock, so it may drive the emulator (scripted colleagues).
	OnMessage func(Message)
}

// Emulator is one emulated Teams deployment (work and consumer accounts).
type Emulator struct {
	opts Options
	mu   sync.Mutex
	srv  *httptest.Server
	base string

	clockOffset time.Duration

	users      map[string]*User // by MRI
	usersByKey map[string]*User // by lower-case email / sign-in name
	convs      map[string]*conv
	lastMsgID  int64

	devices  map[string]*deviceCode // by device_code
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	skype    map[string]*skypeToken
	sessions map[string]*trouterSession // by sid
	allocs   map[string]*allocation     // by surl key
	eps      map[string]*endpoint       // by epid
	objects  map[string]*amsObject

	faults      []*Fault
	typing      []TypingEvent
	reads       []ReadEvent
	requests    []RequestLog
	changed     *sync.Cond
	gen         uint64
	hooks       chan Message
	hooksPaused bool
}

// New creates an emulator without starting a server (see Start, Handler).
func New(opts Options) *Emulator {
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.SkypeTokenTTL <= 0 {
		opts.SkypeTokenTTL = 24 * time.Hour
	}
	if opts.DeviceCodeTTL <= 0 {
		opts.DeviceCodeTTL = 15 * time.Minute
	}
	if opts.DeviceInterval <= 0 {
		opts.DeviceInterval = 1
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 2 * time.Second
	}
	e := &Emulator{
		opts: opts, users: map[string]*User{}, usersByKey: map[string]*User{}, convs: map[string]*conv{},
		devices: map[string]*deviceCode{}, access: map[string]*accessToken{}, refresh: map[string]*refreshToken{},
		skype: map[string]*skypeToken{}, sessions: map[string]*trouterSession{}, allocs: map[string]*allocation{},
		eps: map[string]*endpoint{}, objects: map[string]*amsObject{},
	}
	e.changed = sync.NewCond(&e.mu)
	if opts.OnMessage != nil {
		e.hooks = make(chan Message, 1024)
		go func() {
			for m := range e.hooks {
				opts.OnMessage(m)
			}
		}()
	}
	return e
}

// Start serves the emulator on 127.0.0.1 and returns its base URL.
func (e *Emulator) Start() string {
	e.srv = httptest.NewServer(e.Handler())
	e.SetBaseURL(e.srv.URL)
	return e.base
}

// SetBaseURL tells the emulator under which URL it is reachable (when the
// caller serves Handler itself).
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	e.base = strings.TrimRight(u, "/")
	e.mu.Unlock()
}

// URL is the base URL.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.base
}

// Close stops the server and every Trouter socket.
func (e *Emulator) Close() {
	e.mu.Lock()
	for _, s := range e.sessions {
		s.closeLocked(closeReset)
	}
	e.mu.Unlock()
	if e.srv != nil {
		e.srv.CloseClientConnections()
		e.srv.Close()
	}
}

// Advance moves the emulator's clock forward (token and code expiry).
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	e.clockOffset += d
	e.mu.Unlock()
}

func (e *Emulator) now() time.Time { return time.Now().Add(e.clockOffset) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// RequestLog records one request the emulator served.
type RequestLog struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
	Status              int
}

// Requests returns the requests served so far whose path contains substr.
func (e *Emulator) Requests(substr string) []RequestLog {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []RequestLog
	for _, r := range e.requests {
		if strings.Contains(r.Path, substr) {
			out = append(out, r)
		}
	}
	return out
}

// broadcast wakes waiters; caller holds e.mu.
func (e *Emulator) broadcast() {
	e.gen++
	e.changed.Broadcast()
}

// WaitFor blocks until cond holds or the timeout passes and reports whether
// it held. cond runs without the emulator lock, so it may call any driver
// method; it is re-evaluated after every state change. Tests use it instead
// of sleeping.
func (e *Emulator) WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		e.mu.Lock()
		e.broadcast()
		e.mu.Unlock()
	})
	defer stop.Stop()
	for {
		e.mu.Lock()
		gen := e.gen
		e.mu.Unlock()
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		e.mu.Lock()
		for e.gen == gen {
			e.changed.Wait()
		}
		e.mu.Unlock()
	}
}
