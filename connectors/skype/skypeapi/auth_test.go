package skypeapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

func countPath(reqs []skypeemu.Request, path string) int {
	n := 0
	for _, r := range reqs {
		if r.Path == path {
			n++
		}
	}
	return n
}

func TestLoginSOAPWithEmail(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	s, err := e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != "live:alice" || s.MRI() != "8:live:alice" || s.SkypeToken == "" {
		t.Fatalf("session = %+v", s)
	}
	if d := time.Until(s.Expires); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("expires in %v, want ~24h", d)
	}
	reqs := e.emu.Requests()
	if countPath(reqs, "/RST.srf") != 1 || countPath(reqs, "/rps/v1/rps/skypetoken") != 1 || countPath(reqs, "/ppsecure/post.srf") != 0 {
		t.Fatalf("unexpected flow: %+v", reqs)
	}
}

func TestLoginSOAPWithSkypeName(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	s, err := e.auth.Login(ctxT(t), "bob.2", "bob-pw")
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != "bob.2" || s.SignInName != "bob.2@example.com" {
		t.Fatalf("session = %+v", s)
	}
}

func TestLoginPasswordWithXMLSpecials(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	e.emu.AddUser("dave.5", "Dave", `p<&>"'w`)
	if _, err := e.auth.LoginSOAP(ctxT(t), "dave.5", `p<&>"'w`); err != nil {
		t.Fatal(err)
	}
}

func TestLoginAppPasswordWithTwoStep(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	e.emu.Configure("live:alice", func(u *skypeemu.User) { u.TwoStep, u.AppPassword = true, "abcd-efgh-ijkl" })
	s, err := e.auth.Login(ctxT(t), "alice@example.com", "abcd-efgh-ijkl")
	if err != nil || s.UserID != "live:alice" {
		t.Fatalf("app password login: %v %+v", err, s)
	}
	// The normal password: SOAP refuses, the web flow asks for the browser.
	_, err = e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	if !errors.Is(err, skypeapi.ErrAccountActionRequired) {
		t.Fatalf("err = %v, want ErrAccountActionRequired", err)
	}
}

func TestLoginFallsBackToLiveWhenSOAPRefused(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	e.emu.Configure("bob.2", func(u *skypeemu.User) { u.SOAPRefused = true })
	s, err := e.auth.Login(ctxT(t), "bob.2", "bob-pw")
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != "bob.2" || time.Until(s.Expires) < 23*time.Hour {
		t.Fatalf("session = %+v", s)
	}
	reqs := e.emu.Requests()
	// Sign-in page, the password post, the opid round and the token exchange.
	if countPath(reqs, "/oauth20_authorize.srf") != 1 || countPath(reqs, "/ppsecure/post.srf") != 2 || countPath(reqs, "/login/microsoft") != 1 {
		t.Fatalf("live flow not run as expected: %+v", reqs)
	}
}

func TestLoginWrongPassword(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	_, err := e.auth.Login(ctxT(t), "alice@example.com", "nope")
	var le *skypeapi.LoginError
	if !errors.Is(err, skypeapi.ErrBadCredentials) || !errors.As(err, &le) || le.Step != "soap" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "nope") {
		t.Fatal("password leaked into the error")
	}
	// An e-mail login is answered by SOAP alone: no second attempt.
	if countPath(e.emu.Requests(), "/ppsecure/post.srf") != 0 {
		t.Fatal("a failed SOAP login with an e-mail must not retry through the web flow")
	}
	// A Skype name gets the web flow's definite answer.
	_, err = e.auth.Login(ctxT(t), "bob.2", "nope")
	if !errors.As(err, &le) || le.Kind != skypeapi.ErrBadCredentials || le.Step != "live" || !strings.Contains(le.Message, "incorrect") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	e.emu.FailNextWithRetryAfter("", "/RST.srf", http.StatusTooManyRequests, 803, 1, "120")
	_, err := e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	var le *skypeapi.LoginError
	if !errors.Is(err, skypeapi.ErrAuthRateLimited) || !errors.As(err, &le) || le.Code != "803" || le.RetryAfter != 2*time.Minute {
		t.Fatalf("err = %#v", err)
	}
	// Without Retry-After the documented five minutes apply.
	e.emu.FailNext("", "/rps/v1/rps/skypetoken", http.StatusTooManyRequests, 803, 1)
	_, err = e.auth.Login(ctxT(t), "alice@example.com", "alice-pw")
	if !errors.As(err, &le) || le.Step != "edge" || le.RetryAfter != 5*time.Minute {
		t.Fatalf("err = %v", err)
	}
	if _, err := e.auth.Login(ctxT(t), "alice@example.com", "alice-pw"); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
}

func TestLoginLiveDirect(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	s, err := e.auth.LoginLive(ctxT(t), "alice@example.com", "alice-pw")
	if err != nil || s.UserID != "live:alice" {
		t.Fatalf("%v %+v", err, s)
	}
	e.emu.FailNext("", "/ppsecure/post.srf", http.StatusTooManyRequests, 803, 1)
	if _, err := e.auth.LoginLive(ctxT(t), "alice@example.com", "alice-pw"); !errors.Is(err, skypeapi.ErrAuthRateLimited) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoginWithToken(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	tok := e.emu.MintToken("bob.2")
	s, err := e.auth.LoginToken(ctxT(t), "skypetoken="+tok)
	if err != nil || s.UserID != "bob.2" || s.SkypeToken != tok {
		t.Fatalf("%v %+v", err, s)
	}
	if _, err := e.auth.LoginToken(ctxT(t), "bogus"); !errors.Is(err, skypeapi.ErrTokenRejected) {
		t.Fatalf("err = %v", err)
	}
	if _, err := e.auth.LoginToken(ctxT(t), " "); !errors.Is(err, skypeapi.ErrTokenRejected) {
		t.Fatalf("err = %v", err)
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	old := e.emu.MintToken("bob.2")
	s, err := e.auth.Refresh(ctxT(t), old)
	if err != nil {
		t.Fatal(err)
	}
	if s.SkypeToken == old || s.UserID != "bob.2" || s.Expires.IsZero() {
		t.Fatalf("refreshed = %+v", s)
	}
	if _, err := e.auth.LoginToken(ctxT(t), s.SkypeToken); err != nil {
		t.Fatalf("refreshed token unusable: %v", err)
	}
	e.emu.ExpireSkypeTokens("bob.2")
	if _, err := e.auth.Refresh(ctxT(t), s.SkypeToken); !errors.Is(err, skypeapi.ErrTokenRejected) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigRefusesPlainHTTP(t *testing.T) {
	if _, err := skypeapi.NewAuth(skypeapi.Config{MsgsHost: "http://example.com"}); err == nil {
		t.Fatal("plain http accepted without AllowInsecureHTTP")
	}
	if _, err := skypeapi.NewAuth(skypeapi.Config{}); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}

func TestLoginSkypeNameLegacyAPI(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	s, err := e.auth.LoginSkypeName(ctxT(t), "bob.2", "bob-pw")
	if err != nil || s.UserID != "bob.2" || time.Until(s.Expires) < 23*time.Hour {
		t.Fatalf("%v %+v", err, s)
	}
	_, err = e.auth.LoginSkypeName(ctxT(t), "bob.2", "wrong")
	var le *skypeapi.LoginError
	if !errors.Is(err, skypeapi.ErrBadCredentials) || !errors.As(err, &le) || le.Code != "40120" {
		t.Fatalf("err = %v", err)
	}
}
