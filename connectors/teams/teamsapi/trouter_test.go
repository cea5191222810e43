package teamsapi

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// pushRecorder collects what the Trouter client hands to its callbacks.
type pushRecorder struct {
	emu    *teamsemu.Emulator
	mu     sync.Mutex
	events []*chatsvc.EventMessage
	gaps   []string
	states []bool
}

func (p *pushRecorder) onEvent(_ context.Context, ev *chatsvc.EventMessage) {
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
}

func (p *pushRecorder) onGap(_ context.Context, reason string) {
	p.mu.Lock()
	p.gaps = append(p.gaps, reason)
	p.mu.Unlock()
}

func (p *pushRecorder) onState(up bool, _ error) {
	p.mu.Lock()
	p.states = append(p.states, up)
	p.mu.Unlock()
}

// messages returns the contents of message events (typing excluded).
func (p *pushRecorder) messages() []*chatsvc.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*chatsvc.Message
	for _, ev := range p.events {
		if m, err := ev.Message(); err == nil && m.Kind() != chatsvc.KindTyping {
			out = append(out, m)
		}
	}
	return out
}

func (p *pushRecorder) typing() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range p.events {
		if m, err := ev.Message(); err == nil && m.Kind() == chatsvc.KindTyping {
			n++
		}
	}
	return n
}

func (p *pushRecorder) gapList() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.gaps...)
}

// waitUntil polls cond with a deadline; Trouter state lives in the client,
// so emulator-side waits do not cover it.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

type trouterEnv struct {
	*testEnv
	auth   *Auth
	chat   *chatsvc.Client
	tr     *Trouter
	rec    *pushRecorder
	stop   func()
	done   chan error
	runErr error
}

func startTrouter(t *testing.T, opts teamsemu.Options, d Deployment, email string) *trouterEnv {
	t.Helper()
	e := newTestEnv(t, opts)
	cfg := e.config(d)
	auth, err := NewAuth(cfg, *e.login(t, cfg, email), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	chat, err := auth.NewChatClient(ctx, chatsvc.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &pushRecorder{emu: e.emu}
	tr := auth.NewTrouter(TrouterConfig{OnEvent: rec.onEvent, OnGap: rec.onGap, OnState: rec.onState, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	te := &trouterEnv{testEnv: e, auth: auth, chat: chat, tr: tr, rec: rec, done: make(chan error, 1)}
	go func() { te.done <- tr.Run(ctx) }()
	var once sync.Once
	te.stop = func() {
		once.Do(func() {
			cancel()
			te.runErr = <-te.done
		})
	}
	t.Cleanup(te.stop)
	waitUntil(t, "trouter connected", tr.Connected)
	return te
}

func TestTrouterDeliversMessagesEchoesAndTyping(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{}, Work, "alice@contoso.com")
	st := te.emu.Trouter(te.alice.MRI)
	if st.Registered != 1 || st.Connected != 1 || len(st.Templates) != 1 || st.Templates[0] != "TeamsCDLWebWorker_2.1" || st.EPIDs[0] != te.tr.EPID() {
		t.Fatalf("trouter state %+v", st)
	}
	group := te.emu.CreateGroup(te.bob.MRI, "Lunch", te.alice.MRI)
	id := te.emu.SendText(te.bob.MRI, group, "pizza?")
	waitUntil(t, "bob's message", func() bool { return len(te.rec.messages()) == 1 })
	m := te.rec.messages()[0]
	if string(m.ID) != id || m.Sender() != te.bob.MRI || !strings.Contains(m.Content, "pizza?") {
		t.Fatalf("pushed %+v", m)
	}
	if conv, _ := m.Conversation(); conv != group {
		t.Fatalf("conversation %q", conv)
	}
	// Own send: echoed with our clientmessageid.
	res, err := te.chat.Send(context.Background(), group, chatsvc.Outgoing{Content: "yes", ClientMessageID: "5551212"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "echo", func() bool { return len(te.rec.messages()) == 2 })
	echo := te.rec.messages()[1]
	if echo.ClientMessageID != "5551212" || string(echo.ID) != res.ID || echo.Sender() != te.alice.MRI {
		t.Fatalf("echo %+v", echo)
	}
	te.emu.Typing(te.bob.MRI, group)
	waitUntil(t, "typing", func() bool { return te.rec.typing() == 1 })
	// Edits and reactions arrive as MessageUpdate with a new version.
	te.emu.React(te.bob.MRI, group, res.ID, "like")
	waitUntil(t, "reaction update", func() bool { return len(te.rec.messages()) == 3 })
	upd := te.rec.messages()[2]
	if ems, _ := upd.Emotions(); len(ems) != 1 || ems[0].Key != "like" {
		t.Fatalf("reaction push %+v", upd.Properties)
	}
	if gaps := te.rec.gapList(); len(gaps) != 0 {
		t.Fatalf("gaps on a clean first connection: %v", gaps)
	}
	// Pings are answered; the client acked every delivery.
	if !te.emu.WaitFor(5*time.Second, func() bool { s := te.emu.Trouter(te.alice.MRI); return s.Pending == 0 && s.Acked >= 4 }) {
		t.Fatalf("acks %+v", te.emu.Trouter(te.alice.MRI))
	}
}

func TestTrouterReconnectsWithSameEndpointAndCatchesUp(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{false, true} {
		te := startTrouter(t, teamsemu.Options{}, Work, "alice@contoso.com")
		group := te.emu.CreateGroup(te.bob.MRI, "", te.alice.MRI)
		before := te.emu.SendText(te.bob.MRI, group, "before")
		waitUntil(t, "first message", func() bool { return len(te.rec.messages()) == 1 })
		lastSeen := te.rec.messages()[0].Time()
		te.emu.DropTrouter(te.alice.MRI, clean)
		waitUntil(t, "disconnect noticed", func() bool { return !te.tr.Connected() || len(te.rec.gapList()) > 0 })
		waitUntil(t, "reconnect", func() bool { return len(te.rec.gapList()) == 1 && te.tr.Connected() })
		if g := te.rec.gapList(); g[0] != "reconnect" {
			t.Fatalf("gap %v", g)
		}
		// Whatever was sent around the drop is recovered over REST, once.
		missed := te.emu.SendText(te.bob.MRI, group, "during")
		waitUntil(t, "live push after reconnect", func() bool { return len(te.rec.messages()) == 2 })
		res, err := CatchUp(context.Background(), te.chat, lastSeen, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Messages[group]
		if len(got) != 1 || string(got[0].ID) != missed {
			t.Fatalf("catch-up %+v", got)
		}
		if te.tr.Deduper().FirstMessage(&got[0]) {
			t.Fatal("catch-up message not recognised as already pushed")
		}
		st := te.emu.Trouter(te.alice.MRI)
		if st.Endpoints != 1 || st.Connects != 2 || st.Registered != 1 {
			t.Fatalf("clean=%v: endpoint state %+v", clean, st)
		}
		if string(te.rec.messages()[0].ID) != before {
			t.Fatal("order")
		}
		te.stop()
	}
}

func TestTrouterMessageLossTriggersCatchUp(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{}, Work, "alice@contoso.com")
	group := te.emu.CreateGroup(te.bob.MRI, "", te.alice.MRI)
	te.emu.HoldDeliveries(te.alice.MRI)
	lost := te.emu.SendText(te.bob.MRI, group, "lost in the front end")
	if n := te.emu.ReleaseWithLoss(te.alice.MRI); n < 1 {
		t.Fatalf("held %d", n)
	}
	waitUntil(t, "message_loss gap", func() bool { return len(te.rec.gapList()) == 1 })
	if g := te.rec.gapList()[0]; g != "message_loss" {
		t.Fatalf("gap %q", g)
	}
	if len(te.rec.messages()) != 0 {
		t.Fatal("held delivery arrived")
	}
	res, err := CatchUp(context.Background(), te.chat, time.UnixMilli(1), 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Messages[group]; len(got) != 1 || string(got[0].ID) != lost {
		t.Fatalf("catch-up %+v", res.Messages)
	}
	if res.Newest.UnixMilli() < res.Messages[group][0].ID.Int() {
		t.Fatalf("newest %v", res.Newest)
	}
	// The socket survives a message_loss.
	te.emu.SendText(te.bob.MRI, group, "after")
	waitUntil(t, "push after loss", func() bool { return len(te.rec.messages()) == 1 })
}

func TestTrouterLostAckIsRedeliveredButHandledOnce(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{AckTimeout: 100 * time.Millisecond, GzipDeliveries: true}, Work, "alice@contoso.com")
	group := te.emu.CreateGroup(te.bob.MRI, "", te.alice.MRI)
	te.emu.LoseNextAck(te.alice.MRI, 1)
	id := te.emu.SendText(te.bob.MRI, group, "twice on the wire")
	if !te.emu.WaitFor(10*time.Second, func() bool { s := te.emu.Trouter(te.alice.MRI); return s.Delivered >= 2 && s.Pending == 0 }) {
		t.Fatalf("no redelivery: %+v", te.emu.Trouter(te.alice.MRI))
	}
	te.emu.SendText(te.bob.MRI, group, "next")
	waitUntil(t, "next message", func() bool { return len(te.rec.messages()) >= 2 })
	msgs := te.rec.messages()
	if len(msgs) != 2 || string(msgs[0].ID) != id {
		t.Fatalf("handled %d messages", len(msgs))
	}
}

func TestTrouterConsumerRegistersConsumerTemplates(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{}, Consumer, "carl@outlook.com")
	st := te.emu.Trouter(te.carl.MRI)
	if strings.Join(st.Templates, ",") != "TeamsCDLWebWorker_2.6,TeamsCDLWebWorker_2.3" {
		t.Fatalf("templates %v", st.Templates)
	}
	dm := te.emu.OneToOne(te.dana.MRI, te.carl.MRI)
	te.emu.SendText(te.dana.MRI, dm, "hello carl")
	waitUntil(t, "consumer push", func() bool { return len(te.rec.messages()) == 1 })
}

func TestTrouterSurvivesExpiredSkypetoken(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{}, Work, "alice@contoso.com")
	te.emu.ExpireSkypeTokens(te.alice.MRI)
	te.emu.DropTrouter(te.alice.MRI, false)
	waitUntil(t, "reconnect with a new skypetoken", func() bool { return len(te.rec.gapList()) == 1 && te.tr.Connected() })
	if n := len(te.emu.Requests("/api/authsvc/v1.0/authz")); n != 2 {
		t.Fatalf("%d authz calls", n)
	}
}

func TestTrouterStopsOnRevokedCredentials(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{}, Work, "alice@contoso.com")
	te.emu.RevokeRefreshTokens(te.alice.MRI)
	te.emu.ExpireAccessTokens(te.alice.MRI)
	te.emu.ExpireSkypeTokens(te.alice.MRI)
	// Local token caches expire too: invalidate them as the service would.
	s, _ := te.auth.Skype(context.Background())
	te.auth.InvalidateSkype(s.Token)
	tok, _ := te.auth.AccessToken(context.Background(), te.auth.SkypeScope())
	te.auth.InvalidateAccess(te.auth.SkypeScope(), tok)
	te.emu.DropTrouter(te.alice.MRI, true)
	select {
	case err := <-te.done:
		te.done <- err // stop() collects it
		if err == nil || !strings.Contains(err.Error(), "sign-in needed") {
			t.Fatalf("run ended with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Trouter kept reconnecting with revoked credentials")
	}
}

func TestTrouterUnansweredPingReconnects(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	rec := &pushRecorder{emu: e.emu}
	tr := auth.NewTrouter(TrouterConfig{OnEvent: rec.onEvent, OnGap: rec.onGap, PingInterval: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "connected", tr.Connected)
	e.emu.MutePongs(e.alice.MRI, true)
	waitUntil(t, "reconnect after a silent socket", func() bool { return e.emu.Trouter(e.alice.MRI).Connects >= 2 })
	e.emu.MutePongs(e.alice.MRI, false)
	waitUntil(t, "gap after the reconnect", func() bool { return len(rec.gapList()) >= 1 && tr.Connected() })
	if st := e.emu.Trouter(e.alice.MRI); st.Endpoints != 1 {
		t.Fatalf("endpoint id changed across reconnects: %+v", st)
	}
}

func TestOneOnOneIDMatchesTheService(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	id, ok := OneOnOneID(e.bob.MRI, e.alice.MRI)
	if !ok || id != e.emu.OneToOne(e.alice.MRI, e.bob.MRI) {
		t.Fatalf("%q vs %q", id, e.emu.OneToOne(e.alice.MRI, e.bob.MRI))
	}
	if _, ok := OneOnOneID(e.carl.MRI, e.alice.MRI); ok {
		t.Fatal("consumer pair got a derived id")
	}
}

func TestRefreshTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{RefreshTokenTTL: time.Hour, AccessTokenTTL: time.Minute})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	e.emu.Advance(2 * time.Hour)
	_, err := auth.AccessToken(context.Background(), "https://x/.default")
	var re *ReloginError
	if !errors.As(err, &re) || re.AADSTS() != "AADSTS700082" {
		t.Fatalf("expired refresh token: %v", err)
	}
}

func TestTrouterRetriesFailedAllocation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	auth, _ := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	f := e.emu.InjectFault(teamsemu.Fault{PathContains: "/v4/a", Status: 503, Times: 3})
	rec := &pushRecorder{emu: e.emu}
	tr := auth.NewTrouter(TrouterConfig{OnEvent: rec.onEvent, OnGap: rec.onGap, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "connected after allocation failures", tr.Connected)
	if e.emu.FaultHits(f) != 3 {
		t.Fatalf("fault hits %d", e.emu.FaultHits(f))
	}
	// Never connected before, so no gap is reported for the first connection.
	if g := rec.gapList(); len(g) != 0 {
		t.Fatalf("gaps %v", g)
	}
}

// The server refusing the bearer of user.authenticate (trouter.error 401:
// the token died before its local expiry, e.g. clock skew or revocation of
// that token) makes the next connection authenticate with a fresh token
// instead of the cached one forever.
func TestTrouterRefusedBearerIsRefreshed(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{}, Work, "alice@contoso.com")
	te.emu.ExpireAccessTokens(te.alice.MRI)
	te.emu.DropTrouter(te.alice.MRI, true)
	waitUntil(t, "reconnect with a fresh bearer", func() bool { return len(te.rec.gapList()) == 1 && te.tr.Connected() })
	conv := te.emu.OneToOne(te.bob.MRI, te.alice.MRI)
	te.emu.SendText(te.bob.MRI, conv, "still here")
	waitUntil(t, "a push after the reconnect", func() bool { return len(te.rec.messages()) == 1 })
}
