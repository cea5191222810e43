package skypeemu

import (
	"net/http"
	"net/http/httptest"
	"strings"
)

// Hooks for the end-to-end benchmarks (e2e/bench_skype_test.go), which
// stamp the bridge's requests where they arrive and so need to stand
// between the listeners and the emulator.

// StartWrapped is Start with wrap around the handler of both listeners
// (the main one and the regional messaging host).
func (e *Emulator) StartWrapped(wrap func(http.Handler) http.Handler) {
	e.srv = httptest.NewServer(wrap(http.HandlerFunc(e.serve)))
	e.alt = httptest.NewServer(wrap(http.HandlerFunc(e.serve)))
}

// RequestUser names the account whose registration token or skypetoken r
// carries (its Skype name), or "" when it carries neither or an unknown one.
func (e *Emulator) RequestUser(r *http.Request) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ep := e.regs[regTokenOf(r.Header.Get("RegistrationToken"))]; ep != nil {
		return ep.user.Name
	}
	var tok string
	switch {
	case strings.HasPrefix(r.Header.Get("Authentication"), "skypetoken="):
		tok = strings.TrimPrefix(r.Header.Get("Authentication"), "skypetoken=")
	case r.Header.Get("X-SkypeToken") != "":
		tok = r.Header.Get("X-SkypeToken")
	}
	if u := e.skypeTokenUser(tok); u != nil {
		return u.Name
	}
	return ""
}
