package teamsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// authzServer is an AAD token endpoint plus an authz endpoint answering
// raw bodies shaped like the reference's (teams-web §1.4).
type authzServer struct {
	url    string
	mu     sync.Mutex
	authz  []*http.Request
	bodies []int64 // Content-Length of each authz request
	status int
	body   string
	// other answers requests outside /authz and the token endpoint.
	other func(w http.ResponseWriter, r *http.Request)
}

func newAuthzServer(t *testing.T, status int, body string) *authzServer {
	t.Helper()
	as := &authzServer{status: status, body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			_, _ = io.WriteString(w, `{"token_type":"Bearer","scope":"x","expires_in":3599,"access_token":"at","refresh_token":"rt2"}`)
			return
		}
		if as.other != nil && !strings.HasSuffix(r.URL.Path, "/authz") {
			as.other(w, r)
			return
		}
		as.mu.Lock()
		as.authz = append(as.authz, r.Clone(context.Background()))
		as.bodies = append(as.bodies, r.ContentLength)
		as.mu.Unlock()
		w.WriteHeader(as.status)
		_, _ = io.WriteString(w, strings.ReplaceAll(as.body, "{URL}", as.url))
	}))
	t.Cleanup(srv.Close)
	as.url = srv.URL
	return as
}

func (as *authzServer) auth(t *testing.T, d Deployment, chatURL string) *Auth {
	t.Helper()
	cfg := Config{Deployment: d, LoginURL: as.url, AuthzURL: as.url + "/authz", ChatServiceURL: chatURL, AllowInsecureHTTP: true, Log: testLog,
		Now: func() time.Time { return testNow }}
	if d == Consumer && chatURL == "" {
		cfg.ChatServiceURL = "https://msgapi.teams.live.com"
	}
	a, err := NewAuth(cfg, Credentials{RefreshToken: "rt", Tenant: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAuthzAnswerVariants: both skypetoken shapes, and every way the
// answer names (or does not name) the chat service.
func TestAuthzAnswerVariants(t *testing.T) {
	const workToken = "eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x" // skypeid orgid:abc
	for _, tc := range []struct {
		name       string
		deployment Deployment
		chatURL    string // config
		body       string
		chat, ams  string
		mri        string
		expires    time.Duration
	}{
		{name: "work reference answer", deployment: Work, body: `{"tokens":{"skypeToken":"` + workToken + `","expiresIn":86400,"tokenType":"SkypeToken"},
			"region":"emea","partition":"emea01","userRegion":"at","userPartition":"at01",
			"regionGtms":{"chatService":"{URL}/emea","chatServiceAfd":"{URL}/api/chatsvc/emea","chatServiceAggregator":"{URL}/csa","middleTier":"{URL}/api/mt/part/emea-02","ams":"{URL}/ams/","amsV2":"{URL}/ams2","unifiedPresence":"{URL}/up","urlp":"{URL}/urlp","search":"{URL}/search"},
			"regionSettings":{"isUnifiedPresenceEnabled":true},"licenseDetails":{"isFreemium":false}}`,
			chat: "/emea", ams: "/ams", mri: "8:orgid:abc", expires: 24 * time.Hour},
		{name: "country host", deployment: Work, body: `{"tokens":{"skypeToken":"` + workToken + `","expiresIn":"86400"},"region":"emea","regionGtms":{"chatService":"{URL}/at"}}`,
			chat: "/at", mri: "8:orgid:abc", expires: 24 * time.Hour},
		{name: "front-door alias only", deployment: Work, body: `{"tokens":{"skypeToken":"` + workToken + `","expiresIn":3600},"regionGtms":{"chatServiceAfd":"{URL}/api/chatsvc/emea","amsV2":"{URL}/ams2"}}`,
			chat: "/api/chatsvc/emea", ams: "/ams2", mri: "8:orgid:abc", expires: time.Hour},
		{name: "non-string and empty values", deployment: Work, body: `{"tokens":{"skypeToken":"` + workToken + `"},"regionGtms":{"chatService":"{URL}/emea/","ams":"","nested":{"x":1},"n":null,"flag":true}}`,
			chat: "/emea", mri: "8:orgid:abc", expires: 24 * time.Hour},
		{name: "unusable chat host, configured one", deployment: Work, chatURL: "{URL}/configured", body: `{"tokens":{"skypeToken":"` + workToken + `"},"regionGtms":{"chatService":"ftp://x"}}`,
			chat: "/configured", mri: "8:orgid:abc", expires: 24 * time.Hour},
		{name: "consumer answer without regionGtms", deployment: Consumer,
			body: `{"skypeToken":{"skypetoken":"ct","expiresIn":86400,"skypeid":"live:.cid.1234abcd","signinname":"user@outlook.com","isBusinessTenant":false}}`,
			chat: "https://msgapi.teams.live.com", mri: "8:live:.cid.1234abcd", expires: 24 * time.Hour},
		{name: "consumer answer with regionGtms", deployment: Consumer,
			body: `{"skypeToken":{"skypetoken":"ct","expiresIn":"7200","skypeid":"live:.cid.1234abcd"},"regionGtms":{"chatService":"{URL}/consumer","ams":"{URL}/ams"}}`,
			chat: "/consumer", ams: "/ams", mri: "8:live:.cid.1234abcd", expires: 2 * time.Hour},
		{name: "consumer answer with the front-door alias", deployment: Consumer,
			body: `{"skypeToken":{"skypetoken":"ct","skypeid":"live:carl"},"regionGtms":{"chatServiceAfd":"{URL}/api/chatsvc/consumer"}}`,
			chat: "/api/chatsvc/consumer", mri: "8:live:carl", expires: 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAuthzServer(t, 200, tc.body)
			a := as.auth(t, tc.deployment, strings.ReplaceAll(tc.chatURL, "{URL}", as.url))
			s, err := a.Skype(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			host := func(want string) string {
				if strings.HasPrefix(want, "/") {
					return as.url + want
				}
				return want
			}
			if s.Hosts["chatService"] != host(tc.chat) || tc.ams != "" && s.Hosts["ams"] != host(tc.ams) && s.Hosts["amsV2"] != host(tc.ams) || s.MRI() != tc.mri ||
				s.Expires.Sub(testNow) != tc.expires {
				t.Fatalf("%+v", s)
			}
			if tc.ams != "" {
				if b, _, err := a.Files().base(context.Background()); err != nil || b != host(tc.ams) {
					t.Fatalf("AMS base %q %v", b, err)
				}
			}
			if _, err := a.NewChatClient(context.Background(), chatsvc.RetryPolicy{}); err != nil {
				t.Fatal(err)
			}
			r := as.authz[0]
			if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer at" || r.Header.Get("Accept") != "application/json; ver=1.0" || as.bodies[0] > 0 {
				t.Fatalf("authz request %s %v (%d bytes)", r.Method, r.Header, as.bodies[0])
			}
			want := map[Deployment][2]string{Work: {"TokenRefresh", ""}, Consumer: {"ExplicitLogin", "true"}}[tc.deployment]
			if r.Header.Get("ms-teams-authz-type") != want[0] || r.Header.Get("claimschallengecapable") != want[1] {
				t.Fatalf("authz headers %v", r.Header)
			}
		})
	}
}

// TestAuthzErrorVariants: the error bodies of §1.4 keep their code and
// text: a missing license is ErrNoLicense, a refused bearer (after one
// refresh) needs a new sign-in, anything else is a plain error.
func TestAuthzErrorVariants(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		is         error
		code, text string
	}{
		{name: "no license", status: 403, body: `{"errorCode":"UserLicenseNotPresentForbidden","message":"User Login. Teams is disabled in user licenses"}`,
			is: ErrNoLicense, text: "User Login. Teams is disabled in user licenses"},
		{name: "status object", status: 401, body: `{"status":{"code":40120,"text":"Authentication failed. Bad username or password."}}`,
			is: ErrReloginNeeded, code: "40120", text: "Authentication failed. Bad username or password."},
		{name: "numeric errorCode", status: 403, body: `{"errorCode":40103,"message":"Token expired"}`, is: ErrReloginNeeded, code: "40103", text: "Token expired"},
		{name: "problem+json", status: 403, body: `{"type":"about:blank","title":"Forbidden","status":403,"detail":"Tenant blocked"}`,
			is: ErrReloginNeeded, code: "about:blank", text: "Tenant blocked"},
		{name: "200 without a token", status: 200, body: `{"status":{"code":40120,"text":"Authentication failed."}}`, text: "Authentication failed."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAuthzServer(t, tc.status, tc.body)
			_, err := as.auth(t, Work, as.url).Skype(context.Background())
			if err == nil || tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("%v", err)
			}
			var re *ReloginError
			if errors.As(err, &re) && (re.Code != tc.code || re.Description != tc.text) {
				t.Fatalf("relogin %+v", re)
			}
			if tc.status == 401 && len(as.authz) != 2 {
				t.Fatalf("401 retried %d times", len(as.authz)-1)
			}
		})
	}
}

// TestServiceErrorBodies: AMS and middle-tier errors read the same body
// variants as the chat service (numeric errorCode, problem+json) and
// keep a Retry-After.
func TestServiceErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, retry string
		status                   int
		is                       error
		code, msg                string
		wait                     time.Duration
	}{
		{name: "numeric errorCode", status: 404, body: `{"errorCode":404,"message":"Object not found"}`, is: chatsvc.ErrNotFound, code: "404", msg: "Object not found"},
		{name: "problem+json", status: 403, ctype: "application/problem+json", body: `{"type":"about:blank","title":"Forbidden","status":403,"detail":"No permission"}`,
			is: chatsvc.ErrForbidden, code: "about:blank", msg: "No permission"},
		{name: "throttled", status: 429, retry: "12", body: `{"errorCode":"TooManyRequests","message":"slow down"}`, is: chatsvc.ErrRateLimited,
			code: "TooManyRequests", msg: "slow down", wait: 12 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAuthzServer(t, 200, `{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x"},"regionGtms":{"chatService":"{URL}/c","ams":"{URL}/ams","middleTier":"{URL}/mt"}}`)
			as.other = func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				if tc.retry != "" {
					w.Header().Set("Retry-After", tc.retry)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}
			a := as.auth(t, Work, "")
			_, _, errAMS := a.Files().Download(context.Background(), "0-weu-d1-abc", "imgo")
			_, errMT := a.Profiles(context.Background(), []string{"8:orgid:x"})
			for _, err := range []error{errAMS, errMT} {
				var e *chatsvc.Error
				if !errors.Is(err, tc.is) || !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.msg || e.RetryAfter != tc.wait {
					t.Fatalf("%v %+v", err, e)
				}
			}
		})
	}
}

// TestRedirectsDropTheSkypetoken: a service or AMS redirect to another host
// is followed without the skypetoken headers.
func TestRedirectsDropTheSkypetoken(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for _, h := range []string{"X-Skypetoken", "Authorization", "Authentication"} {
			if r.Header.Get(h) != "" {
				leaked = append(leaked, r.URL.Path+" "+h)
			}
		}
		mu.Unlock()
		if strings.Contains(r.URL.Path, "/views/") {
			w.Header().Set("Content-Type", "image/png")
			_, _ = io.WriteString(w, "png")
			return
		}
		_, _ = io.WriteString(w, `{"value":[{"mri":"8:orgid:x","displayName":"X"}]}`)
	}))
	t.Cleanup(foreign.Close)
	as := newAuthzServer(t, 200, `{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x"},"regionGtms":{"chatService":"{URL}/c","ams":"{URL}/ams","middleTier":"{URL}/mt"}}`)
	as.other = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, foreign.URL+r.URL.Path, http.StatusFound)
	}
	a := as.auth(t, Work, "")
	data, _, err := a.Files().Download(context.Background(), "0-weu-d1-abc", "imgo")
	if err != nil || string(data) != "png" {
		t.Fatalf("download %q %v", data, err)
	}
	if ps, err := a.Profiles(context.Background(), []string{"8:orgid:x"}); err != nil || len(ps) != 1 {
		t.Fatalf("profiles %+v %v", ps, err)
	}
	if len(leaked) != 0 {
		t.Fatalf("credentials followed the redirect: %v", leaked)
	}
}
