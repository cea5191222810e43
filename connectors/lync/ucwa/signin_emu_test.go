package ucwa_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

func TestSignInUsesInternalDiscoveryFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	st := c.State()
	if !strings.HasPrefix(st.UserURL, "https://lyncdiscoverinternal.contoso.com/") ||
		st.ApplicationsURL != "https://lyncdiscoverinternal.contoso.com/ucwa/oauth/v1/applications" ||
		!strings.HasPrefix(st.EventsURL, "https://lyncdiscoverinternal.contoso.com/ucwa/oauth/v1/applications/") ||
		st.EndpointID != "bridge-endpoint-1" || !st.Available || st.TokenURL == "" {
		t.Fatalf("state %+v", st)
	}
	if tok := c.Token(); !strings.HasPrefix(tok.AccessToken, "cwt=") || tok.Expiry.IsZero() {
		t.Fatal("token not kept")
	}
	apps := e.emu.Applications(alice)
	if len(apps) != 1 || apps[0].EndpointID != "bridge-endpoint-1" || !apps[0].Available {
		t.Fatalf("server side %+v", apps)
	}
}

func TestDiscoveryFallsBackToExternalHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.refuse("lyncdiscoverinternal.contoso.com")
	c := e.signedIn(t, e.config())
	if !strings.HasPrefix(c.State().ApplicationsURL, "https://lyncdiscover.contoso.com/") {
		t.Fatalf("state %+v", c.State())
	}
}

func TestSignInErrorsAreDistinguishable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.refuse("lyncdiscoverinternal.nowhere.example")
	e.refuse("lyncdiscover.nowhere.example")

	cfg := e.config()
	cfg.Username = "alice@nowhere.example"
	c, _ := ucwa.New(cfg)
	err := c.SignIn(ctxT(t))
	if !errors.Is(err, ucwa.ErrDiscoveryFailed) || errors.Is(err, ucwa.ErrInvalidCredentials) || errors.Is(err, ucwa.ErrUnreachable) {
		t.Fatalf("unknown domain: %v", err)
	}

	cfg = e.config()
	cfg.Password = "wrong horse battery"
	c, _ = ucwa.New(cfg)
	err = c.SignIn(ctxT(t))
	if !errors.Is(err, ucwa.ErrInvalidCredentials) || errors.Is(err, ucwa.ErrDiscoveryFailed) || strings.Contains(err.Error(), "wrong horse") {
		t.Fatalf("wrong password: %v", err)
	}

	good := e.signedIn(t, e.config())
	e.srv.CloseClientConnections()
	e.refuse("lyncdiscoverinternal.contoso.com")
	_, err = good.CreateApplication(ctxT(t))
	if !errors.Is(err, ucwa.ErrUnreachable) || !ucwa.IsTransient(err) {
		t.Fatalf("unreachable: %v", err)
	}
	mustNotContainSecret(t, err)
}

func TestPlainHTTPNeedsOptIn(t *testing.T) {
	t.Parallel()
	emu := ucwaemu.New(ucwaemu.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	if err := emu.AddUser(alice, "Alice", alicePW); err != nil {
		t.Fatal(err)
	}
	cfg := ucwa.Config{Username: "alice@contoso.com", Password: alicePW, EndpointID: "e", DiscoveryURL: srv.URL + "/"}
	c, _ := ucwa.New(cfg)
	if err := c.SignIn(ctxT(t)); !errors.Is(err, ucwa.ErrInsecureURL) {
		t.Fatalf("http accepted without opt-in: %v", err)
	}
	cfg.AllowInsecureHTTP = true
	cfg.AllowPrivateAddresses = true
	c, _ = ucwa.New(cfg)
	if err := c.SignIn(ctxT(t)); err != nil {
		t.Fatalf("http with opt-in: %v", err)
	}
	if _, err := c.CreateApplication(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// redirectingFrontEnd wraps the emulator with the redirects hybrid
// deployments use: the root redirects to another root, the user resource
// of the first pool redirects to a second pool.
func redirectingFrontEnd(insecureTarget bool) func(*ucwaemu.Emulator) http.Handler {
	return func(emu *ucwaemu.Emulator) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			switch {
			case strings.HasPrefix(host, "lyncdiscoverinternal.") && r.URL.Path == "/":
				target := "https://webdir.contoso.com/Autodiscover/AutodiscoverService.svc/root"
				if insecureTarget {
					target = "http://webdir.contoso.com/Autodiscover/AutodiscoverService.svc/root"
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"_links":{"redirect":{"href":"` + target + `"}}}`))
			case host == "webdir.contoso.com" && strings.HasSuffix(r.URL.Path, "/oauth/user"):
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"_links":{"redirect":{"href":"https://pool2.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user"}}}`))
			case host == "loop.contoso.com":
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"_links":{"redirect":{"href":"https://loop.contoso.com/"}}}`))
			default:
				emu.ServeHTTP(w, r)
			}
		})
	}
}

func TestDiscoveryAndUserRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, redirectingFrontEnd(false))
	c := e.signedIn(t, e.config())
	u, _ := url.Parse(c.State().ApplicationsURL)
	if u.Host != "pool2.contoso.com" {
		t.Fatalf("applications on %s, want the redirected pool", u.Host)
	}

	insecure := newEnv(t, redirectingFrontEnd(true))
	insecure.refuse("lyncdiscover.contoso.com") // leave only the redirecting host
	c2, _ := ucwa.New(insecure.config())
	if err := c2.SignIn(ctxT(t)); !errors.Is(err, ucwa.ErrInsecureURL) || !errors.Is(err, ucwa.ErrDiscoveryFailed) {
		t.Fatalf("redirect to http: %v", err)
	}

	cfg := e.config()
	cfg.DiscoveryURL = "https://loop.contoso.com/"
	c3, _ := ucwa.New(cfg)
	if err := c3.SignIn(ctxT(t)); !errors.Is(err, ucwa.ErrDiscoveryFailed) || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("redirect loop: %v", err)
	}
}

func TestCloseDeletesApplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	if err := c.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.emu.Applications(alice)); n != 0 {
		t.Fatalf("%d applications after Close", n)
	}
	if err := c.Close(ctxT(t)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.ReportMyActivity(ctxT(t)); !errors.Is(err, ucwa.ErrNoApplication) {
		t.Fatalf("activity without application: %v", err)
	}
}
