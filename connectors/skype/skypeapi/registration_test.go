package skypeapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

func TestConnectRegistersPublishesAndSubscribes(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	st := e.emu.Endpoints("live:alice")
	if st.Registrations != 1 || st.PresenceDocs != 1 || st.Subscribed != 1 {
		t.Fatalf("endpoint state %+v", st)
	}
	reg := c.Registration()
	if !strings.HasPrefix(reg.EndpointID, "{") || reg.Token == "" || time.Until(reg.Expires) < time.Hour || reg.MsgsHost != e.emu.URL() {
		t.Fatalf("registration %+v", reg)
	}
	// Connect again is a no-op.
	if err := c.Connect(ctxT(t)); err != nil || e.emu.Endpoints("live:alice").Registrations != 1 {
		t.Fatalf("second connect: %v %+v", err, e.emu.Endpoints("live:alice"))
	}
	var links []chatsvc.EndpointLink
	if err := c.Do(ctxT(t), func(chat *chatsvc.Client) (err error) { links, err = chat.EndpointPresenceDocs(ctxT(t)); return }); err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].EndpointID != reg.EndpointID {
		t.Fatalf("endpoint links %+v, want %s", links, reg.EndpointID)
	}
}

func TestPing(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.Endpoints("live:alice").Pings; got != 1 {
		t.Fatalf("pings = %d", got)
	}
}

func TestMsgsHostRedirect(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	e.emu.RedirectMessaging("live:alice")
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := c.Registration().MsgsHost; got != e.emu.AltURL() {
		t.Fatalf("msgsHost = %s, want %s", got, e.emu.AltURL())
	}
	if _, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "over there"}); err != nil {
		t.Fatal(err)
	}
	altHost := strings.TrimPrefix(e.emu.AltURL(), "http://")
	regs := 0
	for _, r := range e.emu.Requests() {
		if r.RegistrationToken == "ignore-me" {
			t.Fatal("the token of the redirect answer was used")
		}
		if r.Credential == "registration" {
			regs++
			if r.Host != altHost {
				t.Fatalf("registration token sent to %s, not the redirected host", r.Host)
			}
		}
	}
	if regs < 3 {
		t.Fatalf("only %d messaging calls", regs)
	}
	if got := e.emu.SentBy("live:alice"); len(got) != 1 || got[0].Content != "over there" {
		t.Fatalf("sent %+v", got)
	}
}

func TestRedirectToForeignHostRefused(t *testing.T) {
	var evil atomic.Int32
	evilSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evil.Add(1) }))
	defer evilSrv.Close()
	for _, loc := range []string{"https://evil.example.com/v1/users/ME/endpoints", "http://client-s.gateway.messenger.live.com.evil.example/v1/users/ME/endpoints"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusNotFound)
		}))
		cfg := skypeapi.Config{MsgsHost: srv.URL, AllowInsecureHTTP: true}
		c, err := skypeapi.NewClient(cfg, skypeapi.Session{SkypeToken: "tok", UserID: "x"}, skypeapi.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(ctxT(t)); !errors.Is(err, skypeapi.ErrForeignHost) {
			t.Fatalf("redirect to %s: err = %v", loc, err)
		}
		srv.Close()
	}
	if evil.Load() != 0 {
		t.Fatal("a foreign host was contacted")
	}
}

func TestUnknownEndpointReRegisters(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.emu.DropEndpoints("live:alice")
	res, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "after 729"})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.emu.Endpoints("live:alice"); st.Registrations != 2 || st.Live != 1 {
		t.Fatalf("endpoints %+v", st)
	}
	sent := e.emu.SentBy("live:alice")
	if len(sent) != 1 || sent[0].ID != res.ID || sent[0].ClientMessageID != res.ClientMessageID {
		t.Fatalf("sent %+v, result %+v", sent, res)
	}
}

func TestExpiredRegistrationTokenReRegisters(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	first := c.Registration().Token
	e.emu.ExpireRegistrations("live:alice")
	if _, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "x"}); err != nil {
		t.Fatal(err)
	}
	if c.Registration().Token == first || c.Registrations() != 2 {
		t.Fatalf("registration not renewed: %d registrations", c.Registrations())
	}
}

func TestExpiredSkypeTokenRenewsWithStoredCredential(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	var renewed []skypeapi.Session
	s, err := e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	c, err := skypeapi.NewClient(e.cfg, *s, skypeapi.Options{
		Renew: func(ctx context.Context) (*skypeapi.Session, error) {
			return e.auth.Login(ctx, "alice@example.com", "alice-pw")
		},
		OnSession: func(s skypeapi.Session) { renewed = append(renewed, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireSkypeTokens("live:alice")
	e.emu.ExpireRegistrations("live:alice")
	if _, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "renewed"}); err != nil {
		t.Fatal(err)
	}
	if len(renewed) != 1 || renewed[0].SkypeToken == s.SkypeToken || c.Session().SkypeToken != renewed[0].SkypeToken {
		t.Fatalf("renewed %+v", renewed)
	}
}

func TestExpiredSkypeTokenWithoutCredential(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c, err := skypeapi.NewClient(e.cfg, skypeapi.Session{SkypeToken: e.emu.MintToken("live:alice"), UserID: "live:alice"}, skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireSkypeTokens("live:alice")
	if _, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "x"}); !errors.Is(err, skypeapi.ErrTokenRejected) {
		t.Fatalf("err = %v", err)
	}
}

func TestSkypeTokenLapsingRenewsBeforeUse(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	clock := time.Now()
	cfg := e.cfg
	cfg.Now = func() time.Time { return clock }
	s, err := e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	renewals := 0
	c, err := skypeapi.NewClient(cfg, *s, skypeapi.Options{Renew: func(ctx context.Context) (*skypeapi.Session, error) {
		renewals++
		ns, err := e.auth.Login(ctx, "alice@example.com", "alice-pw")
		if ns != nil {
			ns.Expires = clock.Add(24 * time.Hour)
		}
		return ns, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(25 * time.Hour) // past both the skypetoken and the registration
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if renewals != 1 || c.Registrations() != 2 {
		t.Fatalf("renewals %d, registrations %d", renewals, c.Registrations())
	}
}

func TestEndpointThrottled(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	e.emu.FailNext("POST", "/v1/users/ME/endpoints", http.StatusTooManyRequests, 803, 1)
	err := c.Connect(ctxT(t))
	var le *skypeapi.LoginError
	if !errors.Is(err, skypeapi.ErrAuthRateLimited) || !errors.As(err, &le) || le.Code != "803" || le.Step != "endpoint" {
		t.Fatalf("err = %v", err)
	}
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatalf("after throttling: %v", err)
	}
}

func TestEndpointRefused(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	e.emu.FailNext("POST", "/v1/users/ME/endpoints", http.StatusForbidden, "Forbidden", 1)
	if err := c.Connect(ctxT(t)); !errors.Is(err, skypeapi.ErrEndpointRefused) {
		t.Fatalf("err = %v", err)
	}
}

func TestEndpointUnavailableIsNotRefusal(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	e.emu.FailNext("POST", "/v1/users/ME/endpoints", http.StatusServiceUnavailable, 503, 1)
	err := c.Connect(ctxT(t))
	if !errors.Is(err, skypeapi.ErrUnavailable) || errors.Is(err, skypeapi.ErrEndpointRefused) {
		t.Fatalf("err = %v", err)
	}
}

func TestListenWaitsOutEndpointThrottling(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	e.emu.FailNextWithRetryAfter("POST", "/v1/users/ME/endpoints", http.StatusTooManyRequests, 803, 1, "300")
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{KeepAlive: -1})
	subscribed(t, e, "live:alice")
	e.mu.Lock()
	waited := false
	for _, d := range e.sleeps {
		if d == 5*time.Minute {
			waited = true
		}
	}
	e.mu.Unlock()
	if !waited {
		t.Fatalf("sleeps %v, want the 5 minutes the service asked for", e.sleeps)
	}
}

func TestParseSetRegistrationToken(t *testing.T) {
	r, ok := skypeapi.ParseSetRegistrationToken("registrationToken=U2lnbmF0dXJlOjI=; expires=1451692800; endpointId={eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee}")
	if !ok || r.Token != "U2lnbmF0dXJlOjI=" || r.Expires.Unix() != 1451692800 || r.EndpointID != "{eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee}" {
		t.Fatalf("%+v", r)
	}
	if r, ok := skypeapi.ParseSetRegistrationToken("registrationToken=abc"); !ok || r.Token != "abc" || !r.Expires.IsZero() {
		t.Fatalf("bare form: %+v", r)
	}
	if _, ok := skypeapi.ParseSetRegistrationToken("expires=1"); ok {
		t.Fatal("accepted a header without a token")
	}
}
