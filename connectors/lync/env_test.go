package lync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/bridgeconfig"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
	"github.com/imbridge/imbridge/internal/bridgetest"
)

const (
	alice     = id.UserID("@alice:" + bridgetest.ServerName) // the Matrix user
	aliceSIP  = "alice@corp.example"                         // her Lync account
	alicePass = "pass@word1"
	bobSIP    = "bob@corp.example"
	carolSIP  = "carol@corp.example"
	aliceLID  = networkid.UserLoginID("lync." + aliceSIP)
)

// env is a Skype for Business emulator, a bridge in-process, and a Matrix
// user with a management room.
type env struct {
	t    testing.TB
	emu  *ucwaemu.Emulator
	srv  *httptest.Server
	conn *Connector
	h    *bridgetest.Harness
	// discoveryURL is what the config names; "" tests autodiscovery.
	discoveryURL string
	// noPrivate leaves allow_private_addresses off (the emulator is then
	// out of reach: it listens on 127.0.0.1).
	noPrivate bool
	// bridgeConfig adjusts the bridgev2 config (the harness leaves most of
	// it at zero values).
	bridgeConfig func(*bridgeconfig.BridgeConfig)
	log          *zerolog.Logger
	// others are protocols that run beside Lync (fakeproto, for tests with
	// two networks); each gets an enabled config section.
	others []protocol.Protocol
	gen    *generation // the running bridge's connections, for kill
}

// generation tracks one bridge process's connections to the emulator, so
// a simulated SIGKILL can cut them all at once.
type generation struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func (g *generation) track(conn net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead {
		_ = conn.Close()
		return nil, errors.New("the process is dead")
	}
	g.conns = append(g.conns, conn)
	return conn, nil
}

func (g *generation) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dead = true
	for _, c := range g.conns {
		_ = c.Close()
	}
}

type envOption func(*env, *ucwaemu.Options)

func withoutDiscoveryURL() envOption {
	return func(e *env, _ *ucwaemu.Options) { e.discoveryURL = "-" }
}

// withDMRoomMeta turns on bridge.private_chat_portal_meta, as the example
// config has it: DM rooms get the colleague's name and photo.
func withDMRoomMeta() envOption {
	return func(e *env, _ *ucwaemu.Options) {
		e.bridgeConfig = func(c *bridgeconfig.BridgeConfig) { c.PrivateChatPortalMeta = true }
	}
}

func withoutPrivateAddresses() envOption {
	return func(e *env, _ *ucwaemu.Options) { e.noPrivate = true }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvLogged(t, nil, opts...)
}

// newEnvLogged is newEnv with the bridge's logs going to log.
func newEnvLogged(t testing.TB, log *zerolog.Logger, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, log: log}
	emuOpts := ucwaemu.Options{InvitationTimeout: 3 * time.Second}
	for _, o := range opts {
		o(e, &emuOpts)
	}
	e.emu = ucwaemu.New(emuOpts)
	for _, u := range []struct{ sip, name, pass string }{
		{aliceSIP, "Alice Liddell", alicePass}, {bobSIP, "Bob Builder", "bob"}, {carolSIP, "Carol Danvers", "carol"},
	} {
		if err := e.emu.AddUser(u.sip, u.name, u.pass); err != nil {
			t.Fatal(err)
		}
	}
	e.srv = httptest.NewServer(e.emu)
	t.Cleanup(func() { e.srv.Close(); e.emu.Close() })
	if e.discoveryURL == "-" {
		e.discoveryURL = ""
	} else {
		e.discoveryURL = e.srv.URL + "/"
	}
	e.start("")
	return e
}

// start (re)starts the bridge; dbPath "" makes a new database. A restart
// keeps the fake homeserver.
func (e *env) start(dbPath string) {
	e.t.Helper()
	e.conn = New()
	e.gen = &generation{}
	gen := e.gen
	e.conn.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return gen.track(e.dial(ctx, network, addr))
	}}}
	e.conn.RetryBackoffMin = 20 * time.Millisecond
	e.conn.DeliveryTimeout = 10 * time.Second
	cfg := fmt.Sprintf(`
metrics: {enabled: false}
lync:
    enabled: true
    discovery_url: %q
    allow_insecure_http: true
    allow_private_addresses: %t
    credential_key: test-key
    user_agent: imbridge-test
    culture: en-US
    activity_interval: 3m
    event_timeout: 180
`, e.discoveryURL, !e.noPrivate)
	for _, p := range e.others {
		cfg += fmt.Sprintf("%s: {enabled: true, greeting: hi}\n", p.ID())
	}
	var hs *bridgetest.Matrix
	if e.h != nil {
		hs = e.h.Matrix
	}
	e.h = bridgetest.New(e.t, bridge.New(append([]protocol.Protocol{e.conn}, e.others...)...), bridgetest.Options{NetworkConfig: cfg, DBPath: dbPath, Matrix: hs, Log: e.log, Configure: e.bridgeConfig})
}

// scrapeMetrics returns the bridge's Prometheus metrics text.
func (e *env) scrapeMetrics() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.h.Connector.(*bridge.Connector).Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// restart stops the bridge and starts a new one on the same database.
func (e *env) restart() {
	e.t.Helper()
	db := e.h.DBPath
	e.h.Stop()
	e.start(db)
}

// dial refuses the autodiscovery hosts of corp.example, like a domain
// without lyncdiscover records; the emulator is reached by its URL.
func (e *env) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	if strings.HasSuffix(host, "corp.example") {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// login signs alice in through the bot and waits until she is connected.
func (e *env) login() *Client {
	e.t.Helper()
	e.h.CommandPrompt(alice, "login lync", "SIP address")
	e.h.CommandPrompt(alice, aliceSIP, "Password")
	e.h.CommandExpect(alice, alicePass, "Signed in to Skype for Business as Alice Liddell")
	return e.connected()
}

func (e *env) client() *Client {
	e.t.Helper()
	return bridgetest.LoginClient[*Client](e.h, aliceLID)
}

// connected waits until alice's login reports CONNECTED.
func (e *env) connected() *Client {
	e.t.Helper()
	e.h.WaitConnected("alice's Lync login to be connected", aliceLID, nil)
	return e.client()
}

func (e *env) ghost(sip string) id.UserID {
	return e.h.Matrix.FormatGhostMXID(ids.UserID(ids.Lync, sip))
}

// dmRoom waits for the DM portal with sip and returns its room.
func (e *env) dmRoom(sip string) id.RoomID {
	e.t.Helper()
	return e.h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Lync, sip), Receiver: aliceLID})
}

// texts returns the bodies of the messages a sender sent into a room.
func (e *env) texts(room id.RoomID, sender id.UserID) []string {
	return e.h.Texts(room, sender)
}

// waitTexts waits until sender has sent exactly want into room.
func (e *env) waitTexts(room id.RoomID, sender id.UserID, want ...string) {
	e.t.Helper()
	e.h.WaitTexts(e.texts, room, sender, want...)
}

// received waits for sip to have received n messages and returns them.
func (e *env) received(sip string, n int) []ucwaemu.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bridgetest.DefaultWait)
	defer cancel()
	got, err := e.emu.WaitReceived(ctx, sip, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// sendMatrix sends text from alice into a room and returns the event ID.
func (e *env) sendMatrix(room id.RoomID, text string) id.EventID {
	return e.h.SendText(room, alice, text)
}

// statusOf waits for the bridge's delivery status of a Matrix event.
func (e *env) status(evt id.EventID) bridgetest.MessageStatus {
	e.t.Helper()
	return e.h.WaitStatus(evt)
}

func isSuccess(st bridgetest.MessageStatus) bool { return st.Status == event.MessageStatusSuccess }

func (e *env) dmPortalID(sip string) networkid.PortalID {
	return ids.PortalID(ids.Lync, sip)
}
