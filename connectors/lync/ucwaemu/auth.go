package ucwaemu

import (
	"net/http"
	"strings"
	"time"
)

const (
	rootPath  = "/Autodiscover/AutodiscoverService.svc/root"
	userPath  = rootPath + "/oauth/user"
	tokenPath = "/WebTicket/oauthtoken"
	appsPath  = "/ucwa/oauth/v1/applications"
)

type token struct {
	user   *user
	expiry time.Time
}

// origin is the scheme and host the client used, so absolute hrefs point
// back at whatever name the client resolved (lyncdiscover.<domain>, a
// test listener...).
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (e *Emulator) handleRoot(w http.ResponseWriter, r *http.Request) {
	o := origin(r)
	domain := r.URL.Query().Get("originalDomain")
	suffix := ""
	if domain != "" {
		suffix = "?originalDomain=" + domain
	}
	writeJSON(w, http.StatusOK, obj{"_links": obj{
		"self":   link(o + rootPath + suffix),
		"user":   link(o + userPath + suffix),
		"xframe": link(o + "/Autodiscover/XFrame/XFrame.html"),
	}})
}

// challenge answers 401 the way on-prem servers do: a Bearer challenge and
// an MsRtcOAuth challenge naming the token endpoint.
func (e *Emulator) challenge(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("WWW-Authenticate", `Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@emulator.local", client_id="00000004-0000-0ff1-ce00-000000000000"`)
	w.Header().Add("WWW-Authenticate", `MsRtcOAuth href="`+origin(r)+tokenPath+`",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"`)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("<html><body>401 Unauthorized</body></html>"))
}

// authUser returns the user of a valid bearer token, or answers 401.
// Caller holds e.mu.
func (e *Emulator) authUser(w http.ResponseWriter, r *http.Request) (*user, bool) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		if t, found := e.tokens[strings.TrimSpace(tok)]; found && e.opts.Clock.Now().Before(t.expiry) {
			return t.user, true
		}
	}
	e.challenge(w, r)
	return nil, false
}

func (e *Emulator) handleUser(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.authUser(w, r); !ok {
		return
	}
	o := origin(r)
	writeJSON(w, http.StatusOK, obj{"_links": obj{
		"self":         link(o + rootPath + "/user"),
		"applications": link(o + appsPath),
		"xframe":       link(o + "/Autodiscover/XFrame/XFrame.html"),
	}})
}

func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": "invalid_request"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.PostForm.Get("grant_type") != "password" {
		writeJSON(w, http.StatusBadRequest, obj{"error": "unsupported_grant_type"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.lookup(r.PostForm.Get("username"))
	if err != nil || u.password == "" || u.password != r.PostForm.Get("password") {
		writeJSON(w, http.StatusBadRequest, obj{"error": "invalid_grant"})
		return
	}
	tok := "cwt=" + randomHex(24)
	e.tokens[tok] = &token{user: u, expiry: e.opts.Clock.Now().Add(e.opts.TokenLifetime)}
	u.hasLoggedIn = true
	writeJSON(w, http.StatusOK, obj{
		"access_token":         tok,
		"expires_in":           int(e.opts.TokenLifetime / time.Second),
		"ms_rtc_identityscope": "local",
		"token_type":           "Bearer",
	})
}

// ExpireTokens makes every issued token invalid, as if 8 hours had passed.
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.tokens)
}
