package teamsapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

var errRefusedSocket = errors.New("test dialer: refusing this address")

// socketRefusingConn stands for a connection the HTTP client's dialer would
// refuse: every connection of the test runs to the emulator on 127.0.0.1,
// so what is refused is told by what goes over it (the websocket upgrade),
// not by its address.
type socketRefusingConn struct {
	net.Conn
	refused func()
}

func (c *socketRefusingConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("GET /socket.io/1/websocket/")) {
		c.refused()
		return 0, errRefusedSocket
	}
	return c.Conn.Write(p)
}

// The Trouter socket is dialled by the HTTP client's own dial function (in
// the connector: the one refusing private and local addresses unless
// allow_insecure_http), not by a dialer of its own that would get around it.
func TestTrouterSocketUsesTheClientsDialer(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	var mu sync.Mutex
	refusals := 0
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &socketRefusingConn{Conn: conn, refused: func() { mu.Lock(); refusals++; mu.Unlock() }}, nil
	}
	cfg := e.config(Work)
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	auth, err := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	trouter := auth.NewTrouter(TrouterConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- trouter.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the socket to be refused twice", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return refusals >= 2
	})
	if trouter.Connected() {
		t.Fatal("the Trouter socket connected although the client's dialer refuses it")
	}
	if st := e.emu.Trouter(e.alice.MRI); st.Connected != 0 {
		t.Fatalf("the emulator saw %d socket connections", st.Connected)
	}
}
