package ucwaemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDiscoveryChallengeAndToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := &raw{t: t, base: e.srv.URL}

	root := c.do(http.MethodGet, "/", "", nil)
	if root.status != http.StatusOK {
		t.Fatalf("root: %d", root.status)
	}
	userHref, _ := dig(root.json(t), "_links", "user", "href").(string)
	if userHref != e.srv.URL+userPath {
		t.Fatalf("user href %q, want absolute %q", userHref, e.srv.URL+userPath)
	}

	ch := c.do(http.MethodGet, userHref, "", nil)
	if ch.status != http.StatusUnauthorized {
		t.Fatalf("user without token: %d", ch.status)
	}
	auth := ch.header.Values("WWW-Authenticate")
	if len(auth) != 2 || !strings.HasPrefix(auth[0], "Bearer ") ||
		!strings.Contains(auth[1], `MsRtcOAuth href="`+e.srv.URL+tokenPath+`"`) || !strings.Contains(auth[1], "password") {
		t.Fatalf("challenge headers %q", auth)
	}

	bad := url.Values{"grant_type": {"password"}, "username": {"alice@contoso.com"}, "password": {"nope"}}
	r := c.do(http.MethodPost, tokenPath, "application/x-www-form-urlencoded", []byte(bad.Encode()))
	if r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	peer := url.Values{"grant_type": {"password"}, "username": {"bob@contoso.com"}, "password": {""}}
	if r := c.do(http.MethodPost, tokenPath, "application/x-www-form-urlencoded", []byte(peer.Encode())); r.status != http.StatusBadRequest {
		t.Fatalf("password-less colleague signed in: %d", r.status)
	}
	other := url.Values{"grant_type": {"urn:microsoft.rtc:passive"}}
	if r := c.do(http.MethodPost, tokenPath, "application/x-www-form-urlencoded", []byte(other.Encode())); r.json(t)["error"] != "unsupported_grant_type" {
		t.Fatalf("passive grant: %s", r.body)
	}

	good := url.Values{"grant_type": {"password"}, "username": {"Alice@Contoso.com"}, "password": {"alice-pw"}}
	r = c.do(http.MethodPost, tokenPath, "application/x-www-form-urlencoded", []byte(good.Encode()))
	tok := r.json(t)
	if r.status != http.StatusOK || !strings.HasPrefix(tok["access_token"].(string), "cwt=") || tok["expires_in"].(float64) != 28800 {
		t.Fatalf("token: %d %v", r.status, tok)
	}
	c.token = tok["access_token"].(string)
	user := c.do(http.MethodGet, userHref, "", nil)
	if apps, _ := dig(user.json(t), "_links", "applications", "href").(string); apps != e.srv.URL+appsPath {
		t.Fatalf("applications href %q", apps)
	}

	e.emu.ExpireTokens()
	if r := c.do(http.MethodGet, userHref, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("expired token accepted: %d", r.status)
	}
}

func TestTokenExpiresAfterLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.login("alice@contoso.com", "alice-pw")
	if r := c.do(http.MethodGet, "/ucwa/oauth/v1/applications/"+c.appID, "", nil); r.status != http.StatusOK {
		t.Fatalf("fresh token: %d", r.status)
	}
	e.clock.Advance(8*time.Hour - time.Second)
	if r := c.do(http.MethodGet, userPath, "", nil); r.status != http.StatusOK {
		t.Fatalf("token rejected before 8h: %d", r.status)
	}
	e.clock.Advance(2 * time.Second)
	if r := c.do(http.MethodGet, userPath, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("token valid after 8h15m: %d", r.status)
	}
}
