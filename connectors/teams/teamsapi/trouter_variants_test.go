package teamsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// scriptedTrouter is a Trouter and registrar that answer with raw frames
// and bodies shaped like teams-web §3, so each variant the reference lists
// can be served exactly as a server sends it. Sign-in and the skypetoken
// still come from the emulator.
type scriptedTrouter struct {
	srv *httptest.Server
	// allocation is the /v4/a answer; "{{base}}" becomes the server's URL.
	allocation string
	// connected is the trouter.connected frame sent after user.authenticate.
	connected string

	mu            sync.Mutex
	handshake     url.Values
	authenticate  json.RawMessage // args[0] of user.authenticate
	registrations []map[string]any
	acks          []string
	allocations   int
	sock          *websocket.Conn
	sockMu        sync.Mutex
}

func newScriptedTrouter(t *testing.T, allocation, connected string) *scriptedTrouter {
	t.Helper()
	s := &scriptedTrouter{allocation: allocation, connected: connected}
	up := websocket.Upgrader{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v4/a":
			s.mu.Lock()
			s.allocations++
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, strings.ReplaceAll(s.allocation, "{{base}}", s.srv.URL))
		case r.URL.Path == "/socket.io/1/":
			s.mu.Lock()
			s.handshake = r.URL.Query()
			s.mu.Unlock()
			_, _ = io.WriteString(w, "668b433c2da0dbdf-4c57f7f5500ac0ab:40:60:websocket,xhr-polling")
		case strings.HasPrefix(r.URL.Path, "/socket.io/1/websocket/"):
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			s.serveSocket(ws)
		case r.Method == http.MethodPost && r.URL.Path == "/registrar":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			s.mu.Lock()
			s.registrations = append(s.registrations, body)
			s.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scriptedTrouter) send(frame string) {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	if s.sock != nil {
		_ = s.sock.WriteMessage(websocket.TextMessage, []byte(frame))
	}
}

func (s *scriptedTrouter) serveSocket(ws *websocket.Conn) {
	defer ws.Close()
	s.sockMu.Lock()
	s.sock = ws
	s.sockMu.Unlock()
	s.send("1::")
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		f := string(data)
		switch {
		case strings.HasPrefix(f, "5:::"):
			var ev struct {
				Name string            `json:"name"`
				Args []json.RawMessage `json:"args"`
			}
			if json.Unmarshal([]byte(f[4:]), &ev) == nil && ev.Name == "user.authenticate" && len(ev.Args) > 0 {
				s.mu.Lock()
				s.authenticate = ev.Args[0]
				s.mu.Unlock()
				s.send(s.connected)
			}
		case strings.HasPrefix(f, "5:"): // client event expecting an ack
			n, _, _ := strings.Cut(strings.TrimPrefix(f, "5:"), "+")
			if strings.Contains(f, `"name":"ping"`) {
				s.send("6:::" + n + `+["pong"]`)
			} else {
				s.send("6:::" + n + "+[]")
			}
		case strings.HasPrefix(f, "3:::"):
			s.mu.Lock()
			s.acks = append(s.acks, f)
			s.mu.Unlock()
		case f == "2::":
		}
	}
}

// deliver pushes one NewMessage over the socket, as §3.6 frames it.
func (s *scriptedTrouter) deliver(id int, conv, text string) {
	body, _ := json.Marshal(map[string]any{"id": id, "type": "EventMessage", "resourceType": "NewMessage", "time": "2026-10-07T13:41:03Z",
		"resourceLink": "https://notifications.skype.net/v1/users/ME/conversations/" + conv + "/messages/1791380463186",
		"resource": map[string]any{"id": "1791380463186", "clientmessageid": "3669409457167652347", "version": "1791380463186",
			"type": "Message", "messagetype": "RichText/Html", "contenttype": "text", "content": "<p>" + text + "</p>",
			"from": "https://notifications.skype.net/v1/users/ME/contacts/8:live:bob", "imdisplayname": "Bob",
			"conversationLink": "https://notifications.skype.net/v1/users/ME/conversations/" + conv,
			"composetime":      "2026-10-07T13:41:02.9790000Z", "originalarrivaltime": "2026-10-07T13:41:02.9790000Z"}})
	frame, _ := json.Marshal(map[string]any{"id": 1844165944 + id, "method": "POST", "url": "/v4/f/V_Qsweryuiop/messaging",
		"headers": map[string]string{"Content-Type": "application/json; charset=utf-8", "MS-CV": "odYhn/gLdkigKo7cSRo4iA.1"}, "body": string(body)})
	s.send("3:::" + string(frame))
}

func (s *scriptedTrouter) snapshot() (url.Values, json.RawMessage, []map[string]any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handshake, s.authenticate, append([]map[string]any(nil), s.registrations...), len(s.acks)
}

// runScripted connects a Trouter client of deployment d (configured by
// adjust) to st and returns its recorder once it reports connected.
func runScripted(t *testing.T, st *scriptedTrouter, d Deployment, email string, adjust func(*Config)) *pushRecorder {
	t.Helper()
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(d)
	cfg.TrouterURL, cfg.RegistrarURL = st.srv.URL, st.srv.URL+"/registrar"
	if adjust != nil {
		adjust(&cfg)
	}
	auth, err := NewAuth(cfg, *e.login(t, cfg, email), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec := &pushRecorder{emu: e.emu}
	tr := auth.NewTrouter(TrouterConfig{OnEvent: rec.onEvent, OnGap: rec.onGap, OnState: rec.onState})
	done := make(chan struct{})
	go func() { _ = tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the Trouter client connected to the scripted server", tr.Connected)
	return rec
}

const connectedPlain = `5:1::{"name":"trouter.connected","args":[{"ttl":568298,"dur":"1"}]}`

// A number among the allocation's connectparams (§3.1 shows strings, some
// servers send the times as numbers) neither fails the allocation nor
// changes it: the handshake carries it as its digits and user.authenticate
// hands the object back as the server sent it.
func TestTrouterAcceptsNumericConnectParams(t *testing.T) {
	t.Parallel()
	st := newScriptedTrouter(t, `{"socketio":"{{base}}/","surl":"https://trouter2-azsc-ince-1-a.trouter.teams.microsoft.com:3443/v4/f/V_Qsweryuiop/",
		"connectparams":{"sr":"AbCd","issuer":"prod-2","sp":"connect","se":1763719623073,"st":1763151024073,"sig":"D5B7","ok":true,"none":null},"ccid":"haTfnkJKf1g"}`, connectedPlain)
	runScripted(t, st, Work, "alice@contoso.com", nil)
	q, authArgs, regs, _ := st.snapshot()
	if q.Get("se") != "1763719623073" || q.Get("st") != "1763151024073" || q.Get("sig") != "D5B7" || q.Get("ok") != "true" {
		t.Errorf("handshake query %v does not carry the connect params", q)
	}
	var got struct {
		ConnectParams map[string]any `json:"connectparams"`
	}
	if err := json.Unmarshal(authArgs, &got); err != nil {
		t.Fatalf("user.authenticate args %s: %v", authArgs, err)
	}
	if se, ok := got.ConnectParams["se"].(float64); !ok || int64(se) != 1763719623073 || got.ConnectParams["sig"] != "D5B7" {
		t.Errorf("user.authenticate connectparams %v are not the server's", got.ConnectParams)
	}
	if len(regs) != 1 {
		t.Fatalf("%d registrations, want 1", len(regs))
	}
}

// The surl that trouter.connected carries (§3.4 "some versions include
// surl") is where deliveries are registered: when the allocation names
// none, and when the two differ.
func TestTrouterRegistersTheSURLOfTrouterConnected(t *testing.T) {
	t.Parallel()
	const live = "https://trouter2-azsc-euno-2-b.trouter.teams.microsoft.com:3443/v4/f/Live_Surl/"
	for name, alloc := range map[string]string{
		"allocation without surl": `{"socketio":"{{base}}/","connectparams":{"sr":"a","sig":"b"},"ccid":"c"}`,
		"allocation with another": `{"socketio":"{{base}}/","surl":"https://old.trouter.teams.microsoft.com:3443/v4/f/Old/","connectparams":{"sr":"a","sig":"b"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			st := newScriptedTrouter(t, alloc, `5:1::{"name":"trouter.connected","args":[{"ttl":568298,"dur":"1","surl":"`+live+`"}]}`)
			rec := runScripted(t, st, Work, "alice@contoso.com", nil)
			_, _, regs, _ := st.snapshot()
			if len(regs) != 1 || registrationPath(regs[0]) != live {
				t.Fatalf("registered %v, want the path %s", regs, live)
			}
			st.deliver(1, "19:uni01_abc@thread.v2", "after connect")
			waitUntil(t, "the delivery handed on", func() bool { return len(rec.messages()) == 1 })
			waitUntil(t, "the delivery acked", func() bool { _, _, _, n := st.snapshot(); return n == 1 })
		})
	}
}

// Neither an allocation nor trouter.connected naming a delivery URL is a
// failed connection, never a registration to an empty path.
func TestTrouterWithoutAnySURLDoesNotRegister(t *testing.T) {
	t.Parallel()
	st := newScriptedTrouter(t, `{"socketio":"{{base}}/","connectparams":{"sig":"b"}}`, connectedPlain)
	e := newTestEnv(t, teamsemu.Options{})
	cfg := e.config(Work)
	cfg.TrouterURL, cfg.RegistrarURL = st.srv.URL, st.srv.URL+"/registrar"
	auth, err := NewAuth(cfg, *e.login(t, cfg, "alice@contoso.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := auth.NewTrouter(TrouterConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { _ = tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// The failed session is retried from a new allocation.
	waitUntil(t, "the session to fail and be retried", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.allocations >= 2 && st.authenticate != nil
	})
	if _, _, regs, _ := st.snapshot(); len(regs) != 0 || tr.Connected() {
		t.Fatalf("registered %v without a delivery URL (connected %v)", regs, tr.Connected())
	}
}

// The registrations are a configurable list (§9): the defaults stay what
// they were (work: _2.1 without a product context; consumer: _2.6 "TFL"
// then _2.3 ""), and MIRanda's variant, _2.3 twice with "" and "TFL", can be
// configured.
func TestTrouterRegistrationsAreConfigurable(t *testing.T) {
	t.Parallel()
	alloc := `{"socketio":"{{base}}/","surl":"https://t.trouter.teams.microsoft.com:3443/v4/f/S/","connectparams":{"sig":"b"}}`
	none, tfl := "", "TFL"
	cases := []struct {
		name   string
		d      Deployment
		email  string
		regs   []Registration
		expect []string // templateKey=productContext ("-" for none)
	}{
		{"work default", Work, "alice@contoso.com", nil, []string{"TeamsCDLWebWorker_2.1=-"}},
		{"consumer default", Consumer, "carl@outlook.com", nil, []string{"TeamsCDLWebWorker_2.6=TFL", "TeamsCDLWebWorker_2.3="}},
		{"MIRanda variant", Consumer, "carl@outlook.com", []Registration{{TemplateKey: "TeamsCDLWebWorker_2.3", ProductContext: &none}, {TemplateKey: "TeamsCDLWebWorker_2.3", ProductContext: &tfl}}, []string{"TeamsCDLWebWorker_2.3=", "TeamsCDLWebWorker_2.3=TFL"}},
		{"seed template", Consumer, "carl@outlook.com", []Registration{{TemplateKey: "TFLSkypeSpacesWeb_2.0"}}, []string{"TFLSkypeSpacesWeb_2.0=-"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newScriptedTrouter(t, alloc, connectedPlain)
			runScripted(t, st, tc.d, tc.email, func(c *Config) { c.Registrations = tc.regs })
			_, _, regs, _ := st.snapshot()
			var got []string
			for _, r := range regs {
				desc, _ := r["clientDescription"].(map[string]any)
				pc, ok := desc["productContext"].(string)
				if !ok {
					pc = "-"
				}
				if desc["appId"] != RegistrationAppID {
					t.Errorf("appId %v", desc["appId"])
				}
				got = append(got, fmt.Sprintf("%v=%s", desc["templateKey"], pc))
			}
			if strings.Join(got, ",") != strings.Join(tc.expect, ",") {
				t.Fatalf("registered %v, want %v", got, tc.expect)
			}
		})
	}
	if err := (&Config{Registrations: []Registration{{TemplateKey: " "}}}).fill(); err == nil {
		t.Error("a registration without a template key is accepted")
	}
}

func registrationPath(reg map[string]any) string {
	tr, _ := reg["transports"].(map[string]any)
	list, _ := tr["TROUTER"].([]any)
	if len(list) == 0 {
		return ""
	}
	first, _ := list[0].(map[string]any)
	p, _ := first["path"].(string)
	return p
}

// Against the emulator serving both variants at once (numeric connect
// params, surl only on trouter.connected), the client registers, receives
// a message and catches up after a dropped socket as usual.
func TestTrouterEmulatorVariantsDeliver(t *testing.T) {
	t.Parallel()
	te := startTrouter(t, teamsemu.Options{NumericConnectParams: true, SURLOnConnectOnly: true}, Work, "alice@contoso.com")
	dm := te.emu.OneToOne(te.bob.MRI, te.alice.MRI)
	te.emu.SendText(te.bob.MRI, dm, "numeric params")
	waitUntil(t, "the push", func() bool { return len(te.rec.messages()) == 1 })
}
