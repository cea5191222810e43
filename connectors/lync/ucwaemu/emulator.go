package ucwaemu

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Options tune the emulator; zero values take the real server's defaults.
type Options struct {
	// Clock drives server timers; default RealClock.
	Clock Clock
	// TokenLifetime of access tokens (default 8 h, as on-prem servers).
	TokenLifetime time.Duration
	// PollTimeout is how long an idle event request is held when the client
	// sends no timeout parameter (default 180 s).
	PollTimeout time.Duration
	// MinPollTimeout and MaxPollTimeout clamp the client's timeout
	// parameter (defaults 180 s and 1800 s, as documented).
	MinPollTimeout time.Duration
	MaxPollTimeout time.Duration
	// AppExpiry: an application without an event request for this long is
	// deleted (default 15 min).
	AppExpiry time.Duration
	// ResumeAfter: an event request arriving this long after the previous
	// one was answered gets a resume link and finds its conversations
	// closed (default 10 min; negative disables).
	ResumeAfter time.Duration
	// InvitationTimeout: unanswered invitations fail after this long
	// (default 30 s). Incoming messages not fetched within it are dropped
	// and reported failed to their sender.
	InvitationTimeout time.Duration
	// TypingTimeout: a typing indication lapses after this long (default 6 s).
	TypingTimeout time.Duration
	// MessageEventType is the event type of incoming message events:
	// "completed" (default, as in the worked example) or "started" (as in
	// the reference page).
	MessageEventType string
	// SessionContextOnAccept appends "?sessionContext=<guid>" to accept
	// links, as some servers do (the "Receive an IM" walk-through).
	SessionContextOnAccept bool
	// OmitMessageEmbedded sends message events without _embedded, as the
	// events reference allows; clients must GET the message link.
	OmitMessageEmbedded bool
	// OmitEventEmbedded lists the event link rels ("conversation",
	// "messaging", "messagingInvitation", "participant", …) whose events
	// come without _embedded, which the events reference allows; "*" means
	// every event. Clients must GET the event's link instead. The message
	// rel is covered by OmitMessageEmbedded as well.
	OmitEventEmbedded []string
	// LinkApplicationResources makes the application resource link me,
	// people, onlineMeetings and communication (in _links) instead of
	// embedding them; clients must GET them.
	LinkApplicationResources bool
	// CreateApplicationLocationOnly answers application creation (201, or
	// 200 for an existing one) with an empty body and only a Location
	// header; the client must GET the application.
	CreateApplicationLocationOnly bool
	// OperationIDParam names the one sendMessage query parameter the
	// server reads as the operation ID, "operationId" (the reference page)
	// or "OperationContext" (the worked example); the other is then
	// ignored and not echoed. "" reads either. The value comes back as the
	// Outgoing message's operationId.
	OperationIDParam string
	// OperationIDEcho says how operation IDs come back in invitations,
	// messages and participant invitations: "" as the client sent them;
	// "none" not at all; "foreign" as an ID the client never sent, as a
	// replay of recorded traffic does. Clients then have to correlate
	// their operations by the Location the POST answered.
	OperationIDEcho string
	// LocalParticipant says how a conversation's participants collection
	// shows the application's own user: "" leaves it out; "local" lists it
	// with "local": true; "me" lists it with only a me link (as the real
	// server in seed 002 does); "uri" lists it with neither.
	LocalParticipant string
	// ServerFQDN is sent in X-MS-Server-Fqdn (default "FE01.emulator.local").
	ServerFQDN string
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	setDefault(&o.TokenLifetime, 8*time.Hour)
	setDefault(&o.PollTimeout, 180*time.Second)
	setDefault(&o.MinPollTimeout, 180*time.Second)
	setDefault(&o.MaxPollTimeout, 1800*time.Second)
	setDefault(&o.AppExpiry, 15*time.Minute)
	setDefault(&o.ResumeAfter, 10*time.Minute)
	setDefault(&o.InvitationTimeout, 30*time.Second)
	setDefault(&o.TypingTimeout, 6*time.Second)
	if o.MessageEventType != "started" {
		o.MessageEventType = "completed"
	}
	if o.ServerFQDN == "" {
		o.ServerFQDN = "FE01.emulator.local"
	}
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Emulator is one emulated front-end pool with its users. All state sits
// behind one mutex: the emulator favours obvious correctness over
// throughput.
type Emulator struct {
	opts Options
	mux  *http.ServeMux

	mu        sync.Mutex
	closed    bool
	closing   chan struct{}
	users     map[string]*user // by address ("alice@contoso.com")
	tokens    map[string]*token
	apps      map[string]*application
	threads   map[string]*thread
	threadSeq int
	messages  []*Message
	typing    map[string]int
	faults    []*Fault
	random    *RandomFaults
	timers    map[*serverTimer]struct{}
	changed   chan struct{} // closed and replaced on every state change
	requests  int
}

// New returns an emulator without users; add them with AddUser.
func New(opts Options) *Emulator {
	opts.defaults()
	e := &Emulator{
		opts:    opts,
		closing: make(chan struct{}),
		users:   map[string]*user{},
		tokens:  map[string]*token{},
		apps:    map[string]*application{},
		threads: map[string]*thread{},
		typing:  map[string]int{},
		timers:  map[*serverTimer]struct{}{},
		changed: make(chan struct{}),
	}
	e.mux = e.routes()
	return e
}

// Clock returns the clock driving the server timers.
func (e *Emulator) Clock() Clock { return e.opts.Clock }

// Close releases every parked event request and stops all timers. Call it
// before closing the httptest server so held requests return.
func (e *Emulator) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	close(e.closing)
	for t := range e.timers {
		t.t.Stop()
	}
	clear(e.timers)
	e.notifyLocked()
}

// serverTimer wraps a clock timer so Close can stop it and so callbacks
// run under the emulator lock and never after Close.
type serverTimer struct{ t Timer }

// after schedules f (run with e.mu held). Caller holds e.mu.
func (e *Emulator) after(d time.Duration, f func()) *serverTimer {
	st := &serverTimer{}
	e.timers[st] = struct{}{}
	st.t = e.opts.Clock.AfterFunc(d, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, live := e.timers[st]; !live || e.closed {
			return
		}
		delete(e.timers, st)
		f()
		e.notifyLocked()
	})
	return st
}

// cancel stops a timer scheduled with after. Caller holds e.mu.
func (e *Emulator) cancel(st *serverTimer) {
	if st == nil {
		return
	}
	st.t.Stop()
	delete(e.timers, st)
}

// notifyLocked wakes WaitFor callers. Caller holds e.mu.
func (e *Emulator) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// WaitFor blocks until cond returns true or ctx ends. cond is evaluated
// without the emulator lock, so it may call any query method.
func (e *Emulator) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// ServeHTTP serves UCWA, applying any injected fault first.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests++
	f := e.matchFault(r)
	e.mu.Unlock()
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-MS-Server-Fqdn", e.opts.ServerFQDN)
	if f != nil {
		e.serveFault(w, r, f)
		return
	}
	e.mux.ServeHTTP(w, r)
}

// Requests returns how many HTTP requests the emulator has received.
func (e *Emulator) Requests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests
}
