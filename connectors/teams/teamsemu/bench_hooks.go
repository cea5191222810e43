package teamsemu

import "net/http"

// RequestUser is the MRI of the user whose skypetoken r carries, or "" when
// it carries none or an unknown or expired one. The end-to-end benchmarks
// (e2e/bench_teams_test.go) use it to attribute the bridge's sends, which
// they stamp as they arrive.
func (e *Emulator) RequestUser(r *http.Request) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.skypeUserLocked(r); u != nil {
		return u.MRI
	}
	return ""
}
