package ucwa_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

const (
	alice   = "sip:alice@contoso.com"
	bob     = "sip:bob@contoso.com"
	carol   = "sip:carol@contoso.com"
	alicePW = "correct horse battery"
)

// env is an emulator behind TLS whose client resolves every host name to
// it, so autodiscovery of contoso.com reaches the emulator.
type env struct {
	emu     *ucwaemu.Emulator
	srv     *httptest.Server
	refused sync.Map // host names that fail to resolve
	sleeps  chan time.Duration
}

func newEnv(t *testing.T, handler func(*ucwaemu.Emulator) http.Handler) *env {
	t.Helper()
	return newEnvWith(t, ucwaemu.Options{}, handler)
}

func newEnvWith(t *testing.T, opts ucwaemu.Options, handler func(*ucwaemu.Emulator) http.Handler) *env {
	t.Helper()
	emu := ucwaemu.New(opts)
	var h http.Handler = emu
	if handler != nil {
		h = handler(emu)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	for _, u := range [][3]string{{alice, "Alice Example", alicePW}, {bob, "Bob Example", ""}, {carol, "Carol Example", ""}} {
		if err := emu.AddUser(u[0], u[1], u[2]); err != nil {
			t.Fatal(err)
		}
	}
	return &env{emu: emu, srv: srv, sleeps: make(chan time.Duration, 100)}
}

func (e *env) refuse(host string) { e.refused.Store(host, true) }

// httpClient dials the emulator whatever the host name, and trusts its
// certificate for any name.
func (e *env) httpClient(keepAlive bool) *http.Client {
	base := e.srv.Client().Transport.(*http.Transport).Clone()
	base.TLSClientConfig = base.TLSClientConfig.Clone()
	base.TLSClientConfig.ServerName = "example.com"
	base.TLSClientConfig.MinVersion = tls.VersionTLS12
	base.DisableKeepAlives = !keepAlive
	addr := e.srv.Listener.Addr().String()
	base.DialContext = func(ctx context.Context, network, hostport string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(hostport)
		if _, no := e.refused.Load(host); no {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: base}
}

func (e *env) config() ucwa.Config {
	return ucwa.Config{
		Username:   "alice@contoso.com",
		Password:   alicePW,
		EndpointID: "bridge-endpoint-1",
		UserAgent:  "imbridge-test/1.0",
		// The emulator listens on 127.0.0.1.
		AllowPrivateAddresses: true,
		HTTPClient:            e.httpClient(true),
		BackoffMin:            time.Millisecond,
		BackoffMax:            4 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error {
			select {
			case e.sleeps <- d:
			default:
			}
			return ctx.Err()
		},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// signedIn returns a client with an available application.
func (e *env) signedIn(t *testing.T, cfg ucwa.Config) *ucwa.Client {
	t.Helper()
	c, err := ucwa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := c.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateApplication(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeMeAvailable(ctx, ucwa.AvailabilityOptions{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// loop runs RunEvents in the background and records what it delivers.
type loop struct {
	t       *testing.T
	updates chan ucwa.Update
	done    chan error
	cancel  context.CancelFunc
	backlog []ucwa.SenderEvent
}

// run starts the event loop; react, if set, runs inside the handler.
func run(t *testing.T, c *ucwa.Client, react func(ctx context.Context, u ucwa.Update) error) *loop {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{t: t, updates: make(chan ucwa.Update, 1000), done: make(chan error, 1), cancel: cancel}
	go func() {
		l.done <- c.RunEvents(ctx, func(ctx context.Context, u ucwa.Update) error {
			l.updates <- u
			if react != nil {
				return react(ctx, u)
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-l.done
	})
	return l
}

// waitEvent waits for an event matching pred and returns it; events
// after it in the same batch stay queued for the next call.
func (l *loop) waitEvent(pred func(ucwa.SenderEvent) bool) ucwa.SenderEvent {
	l.t.Helper()
	var seen []string
	ctx := ctxT(l.t)
	for {
		for len(l.backlog) > 0 {
			se := l.backlog[0]
			l.backlog = l.backlog[1:]
			seen = append(seen, se.Event.Link.Rel+"/"+se.Event.Type)
			if pred(se) {
				return se
			}
		}
		select {
		case u := <-l.updates:
			if u.Batch != nil {
				l.backlog = u.Batch.All()
			}
		case err := <-l.done:
			l.done <- err
			l.t.Fatalf("event loop ended: %v (saw %v)", err, seen)
		case <-ctx.Done():
			l.t.Fatalf("event never came; saw %v", seen)
		}
	}
}

// waitKind waits for an update of the given kind.
func (l *loop) waitKind(kind ucwa.UpdateKind) ucwa.Update {
	l.t.Helper()
	ctx := ctxT(l.t)
	for {
		select {
		case u := <-l.updates:
			if u.Kind == kind {
				return u
			}
		case err := <-l.done:
			l.done <- err
			l.t.Fatalf("event loop ended waiting for %v: %v", kind, err)
		case <-ctx.Done():
			l.t.Fatalf("no %v update", kind)
		}
	}
}

func (l *loop) wait() error {
	select {
	case err := <-l.done:
		l.done <- err
		return err
	case <-ctxT(l.t).Done():
		l.t.Fatal("event loop did not stop")
		return nil
	}
}

func is(rel, typ string) func(ucwa.SenderEvent) bool {
	return func(se ucwa.SenderEvent) bool { return se.Event.Link.Rel == rel && se.Event.Type == typ }
}

// acceptInvitations accepts every incoming invitation from the handler.
func acceptInvitations(c *ucwa.Client) func(context.Context, ucwa.Update) error {
	return func(ctx context.Context, u ucwa.Update) error {
		if u.Batch == nil {
			return nil
		}
		for _, se := range u.Batch.All() {
			if !is("messagingInvitation", ucwa.EventStarted)(se) {
				continue
			}
			inv, err := se.Event.MessagingInvitation()
			if err != nil {
				return err
			}
			if inv.Direction == ucwa.DirectionIncoming {
				if err := c.Accept(ctx, inv); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func messagingOf(t *testing.T, se ucwa.SenderEvent) *ucwa.Messaging {
	t.Helper()
	m, err := se.Event.Messaging()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func connected(se ucwa.SenderEvent) bool {
	if se.Event.Link.Rel != "messaging" {
		return false
	}
	m, err := se.Event.Messaging()
	return err == nil && m.State == "Connected"
}

func incomingText(text string) func(ucwa.SenderEvent) bool {
	return func(se ucwa.SenderEvent) bool {
		if !se.Event.IsIncomingMessage() {
			return false
		}
		m, _ := se.Event.Message()
		b, err := m.Body()
		return err == nil && b.Plain == text
	}
}

func appID(c *ucwa.Client) string {
	h := c.State().ApplicationHref
	return h[strings.LastIndex(h, "/")+1:]
}

func mustNotContainSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), alicePW) || strings.Contains(err.Error(), "cwt=")) {
		t.Fatalf("secret in error: %v", err)
	}
}

var errStop = errors.New("stop")
