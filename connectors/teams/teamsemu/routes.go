package teamsemu

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Fault makes matching requests fail. Matching requests are counted down
// from Times (0 = until cleared).
type Fault struct {
	Method       string // "" matches any
	PathContains string // "" matches any service path
	Status       int
	// RetryAfter is sent verbatim as the Retry-After header (seconds or an
	// HTTP-date); empty sends none.
	RetryAfter string
	Body       string // default: a chat-service error object
	Times      int
	// Served carries the request out before answering with the fault, as
	// a service does that stored a message and then failed (or timed out
	// at its gateway): the caller hears an error for what was done.
	Served bool
	hits   int
}

// InjectFault adds a fault; it applies before any handler runs.
func (e *Emulator) InjectFault(f Fault) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	fp := &f
	e.faults = append(e.faults, fp)
	return fp
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	e.faults = nil
	e.mu.Unlock()
}

// FaultHits is how many requests the fault failed.
func (e *Emulator) FaultHits(f *Fault) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return f.hits
}

func (e *Emulator) matchFaultLocked(r *http.Request) *Fault {
	for i, f := range e.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, r.Method)) && strings.Contains(r.URL.Path, f.PathContains) {
			f.hits++
			if f.Times > 0 && f.hits >= f.Times {
				e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Hijack lets the websocket upgrade through the recorder.
func (s *statusRecorder) Hijack() (c netConn, rw *bufioRW, err error) {
	return s.ResponseWriter.(http.Hijacker).Hijack()
}

// Handler serves every emulated service.
func (e *Emulator) Handler() http.Handler {
	return http.HandlerFunc(e.serve)
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 64<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	e.mu.Lock()
	f := e.matchFaultLocked(r)
	e.mu.Unlock()
	if f != nil {
		if f.Served {
			e.route(httptest.NewRecorder(), r)
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(f.Status)
		_, _ = io.WriteString(w, firstNonEmpty(f.Body, `{"errorCode":"Injected","message":"injected fault"}`))
	} else {
		e.route(rec, r)
	}
	logged := body
	if len(logged) > 4096 {
		logged = logged[:4096]
	}
	e.mu.Lock()
	e.requests = append(e.requests, RequestLog{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(logged), Status: rec.status})
	e.broadcast()
	e.mu.Unlock()
}

func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(seg) == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && r.Method == http.MethodPost && (seg[3] == "devicecode" || seg[3] == "token"):
		if seg[3] == "devicecode" {
			e.handleDeviceCode(w, r, seg[0], false)
		} else {
			e.handleToken(w, r, seg[0], false)
		}
	case len(seg) == 3 && seg[1] == "oauth2" && r.Method == http.MethodPost && (seg[2] == "devicecode" || seg[2] == "token"):
		if seg[2] == "devicecode" {
			e.handleDeviceCode(w, r, seg[0], true)
		} else {
			e.handleToken(w, r, seg[0], true)
		}
	case (p == "/api/authsvc/v1.0/authz" || p == "/v1.0/authz") && r.Method == http.MethodPost:
		e.handleAuthz(w, r, false)
	case p == "/api/auth/v1.0/authz/consumer" && r.Method == http.MethodPost:
		e.handleAuthz(w, r, true)
	case strings.HasPrefix(p, "/v1/"):
		e.handleChat(w, r)
	case p == "/mt/beta/users/fetchShortProfile" && r.Method == http.MethodPost:
		e.handleProfiles(w, r)
	case isSearchRoute(r):
		e.handleSearch(w, r)
	case strings.HasPrefix(p, "/mt/beta/users/") && strings.HasSuffix(p, "/profilepicturev2") && r.Method == http.MethodGet:
		e.handleProfilePicture(w, r)
	case p == "/csa/api/v1/teams/users/me" && r.Method == http.MethodGet:
		e.handleTeams(w, r)
	case strings.HasPrefix(p, "/presence/v1/"):
		e.handlePresence(w, r)
	case strings.HasPrefix(p, "/ams/v1/objects"):
		e.handleAMS(w, r)
	case p == "/v4/a" && r.Method == http.MethodPost:
		e.handleAllocate(w, r)
	case p == "/socket.io/1/" || p == "/socket.io/1":
		e.handleHandshake(w, r)
	case strings.HasPrefix(p, "/socket.io/1/websocket/"):
		e.handleWebsocket(w, r, strings.TrimPrefix(p, "/socket.io/1/websocket/"))
	case strings.EqualFold(p, "/registrar/prod/V2/registrations") && r.Method == http.MethodPost:
		e.handleRegistrar(w, r)
	case p == "/devicelogin" && r.Method == http.MethodGet:
		// The page the device-code message names: a form that approves a
		// code as one of the emulated users (what Microsoft's sign-in
		// page does after the user signs in).
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, deviceLoginPage)
	case p == "/_emu/devicelogin" && r.Method == http.MethodPost:
		// Test API for out-of-process drivers (the demo, e2e tests).
		_ = r.ParseForm()
		if !e.ApproveDeviceCode(strings.TrimSpace(r.Form.Get("user_code")), strings.TrimSpace(r.Form.Get("email"))) {
			http.Error(w, "unknown code or user", http.StatusNotFound)
			return
		}
		if r.Form.Get("page") != "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<!doctype html><title>Signed in</title><p>Signed in. You can close this page and go back to Matrix.</p>")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such resource: "+p)
	}
}

const deviceLoginPage = `<!doctype html>
<title>Teams emulator sign-in</title>
<h1>Sign in (Teams emulator)</h1>
<form method="post" action="/_emu/devicelogin">
<input type="hidden" name="page" value="1">
<p><label>Code <input name="user_code" autofocus></label></p>
<p><label>Account (e-mail) <input name="email" value="demo@contoso.com"></label></p>
<p><button>Sign in</button></p>
</form>
<p>Demo accounts: demo@contoso.com (work), demo@outlook.com (Teams free).</p>
`
