package ucwaemu

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"
)

// Fault describes how the next matching requests misbehave.
type Fault struct {
	// Method and PathContains select requests; empty matches all.
	Method       string
	PathContains string
	// Count is how many requests the fault affects (default 1).
	Count int
	// Status, when set, answers with this status and a UCWA error body
	// instead of serving the request (e.g. 500, 503, 429).
	Status int
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// Drop serves the request (so the server's state advances, e.g. an
	// event batch is numbered) and then closes the connection without
	// answering, as a network failure mid-poll would.
	Drop bool
	// Delay holds the request this long (wall time) before handling it.
	Delay time.Duration

	remaining int
}

// InjectFault queues a fault; faults are matched in injection order.
func (e *Emulator) InjectFault(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f.remaining = max(f.Count, 1)
	e.faults = append(e.faults, &f)
}

// PendingFaults returns how many injected fault activations are left.
func (e *Emulator) PendingFaults() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, f := range e.faults {
		n += f.remaining
	}
	return n
}

// RandomFaults makes a share of the matching requests fail, each on its
// own chance (as a flaky server does), instead of a counted series.
type RandomFaults struct {
	Rate float64 // 0..1
	// Method and any of PathContains select requests (empty matches all).
	Method       string
	PathContains []string
	// Statuses are picked from at random; RetryAfter goes with 429s.
	Statuses   []int
	RetryAfter string
}

// SetRandomFaults installs (or, with nil, removes) random faults; counted
// faults from InjectFault take precedence.
func (e *Emulator) SetRandomFaults(f *RandomFaults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.random = f
}

func (f *RandomFaults) pick(r *http.Request) *Fault {
	if f == nil || len(f.Statuses) == 0 || (f.Method != "" && !strings.EqualFold(f.Method, r.Method)) {
		return nil
	}
	if len(f.PathContains) > 0 && !slices.ContainsFunc(f.PathContains, func(p string) bool { return strings.Contains(r.URL.RequestURI(), p) }) {
		return nil
	}
	if rand.Float64() >= f.Rate {
		return nil
	}
	out := &Fault{Status: f.Statuses[rand.IntN(len(f.Statuses))]}
	if out.Status == http.StatusTooManyRequests {
		out.RetryAfter = f.RetryAfter
	}
	return out
}

// matchFault consumes one activation of the first matching fault. Caller
// holds e.mu.
func (e *Emulator) matchFault(r *http.Request) *Fault {
	for i, f := range e.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.PathContains != "" && !strings.Contains(r.URL.RequestURI(), f.PathContains) {
			continue
		}
		f.remaining--
		if f.remaining <= 0 {
			e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
		}
		return f
	}
	return e.random.pick(r)
}

func (e *Emulator) serveFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.Delay > 0 && !e.waitCtx(r.Context(), f.Delay) {
		return
	}
	switch {
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(w, f.Status, "", "Injected fault.")
	case f.Drop:
		// Serve into a recorder so side effects happen, then drop the
		// answer on the floor.
		e.mux.ServeHTTP(httptest.NewRecorder(), r)
		abortConnection(w)
	default:
		e.mux.ServeHTTP(w, r)
	}
}

// abortConnection closes the client connection without a response.
func abortConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked; this sentinel panic is net/http's
		// documented way to abort a response, and the server recovers it.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
