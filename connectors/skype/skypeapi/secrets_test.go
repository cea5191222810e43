package skypeapi_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A whole session with every fault logged at debug level: neither the
// password nor any token appears in the log or in an error.
func TestSecretsStayOutOfLogsAndErrors(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	var buf syncBuffer
	e.cfg.Log = zerolog.New(&buf).Level(zerolog.DebugLevel)
	auth, err := skypeapi.NewAuth(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	var errs []string
	if _, err := auth.Login(ctx, "bob.2", "wrong-secret-pw"); err != nil {
		errs = append(errs, err.Error())
	}
	e.emu.Configure("bob.2", func(u *skypeemu.User) { u.SOAPRefused = true })
	s, err := auth.Login(ctx, "bob.2", "bob-pw")
	if err != nil {
		t.Fatal(err)
	}
	c, err := skypeapi.NewClient(e.cfg, *s, skypeapi.Options{Renew: func(ctx context.Context) (*skypeapi.Session, error) { return auth.Login(ctx, "bob.2", "bob-pw") }})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{KeepAlive: -1})
	subscribed(t, e, "bob.2")
	e.emu.DropEndpoints("bob.2")
	waitFor(t, "re-registration", func() bool { return e.emu.Endpoints("bob.2").Registrations == 2 })
	e.emu.ExpireSkypeTokens("bob.2")
	e.emu.ExpireRegistrations("bob.2")
	if _, err := c.Send(ctx, "8:live:alice", skypeapi.Outgoing{Content: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(ctx, "https://evil.example.com/v1/objects/x", ""); err != nil {
		errs = append(errs, err.Error())
	}
	reg := c.Registration()
	secrets := []string{"wrong-secret-pw", "bob-pw", s.SkypeToken, c.Session().SkypeToken, reg.Token}
	out := buf.String() + strings.Join(errs, "\n")
	if !strings.Contains(buf.String(), "registering again") && !strings.Contains(buf.String(), "Skype endpoint lost") {
		t.Fatalf("the log does not show the faults; the check would prove nothing:\n%s", buf.String())
	}
	for _, sec := range secrets {
		if sec != "" && strings.Contains(out, sec) {
			t.Fatalf("secret %q found in logs or errors", sec)
		}
	}
}

func TestLogoutDeletesEndpoint(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := e.emu.Endpoints("live:alice"); st.Live != 0 {
		t.Fatalf("endpoint still live: %+v", st)
	}
	if err := c.Logout(ctxT(t)); err != nil {
		t.Fatalf("second logout: %v", err)
	}
}
