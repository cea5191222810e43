package teamsemu

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

type raw struct {
	t    *testing.T
	emu  *Emulator
	base string
}

func newRaw(t *testing.T, opts Options) *raw {
	t.Helper()
	e := New(opts)
	base := e.Start()
	t.Cleanup(e.Close)
	return &raw{t: t, emu: e, base: base}
}

func (r *raw) do(method, path string, hdr map[string]string, body string) (int, http.Header, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (r *raw) accessToken(u *User, scope string) string {
	rt := r.emu.IssueRefreshToken(u.MRI, "c", scope)
	tenant := "organizations"
	if u.Consumer {
		tenant = "consumers"
	}
	code, _, body := r.do("POST", "/"+tenant+"/oauth2/v2.0/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"c"}, "scope": {scope}}.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &tok) != nil {
		r.t.Fatalf("token: %d %s", code, body)
	}
	return tok.AccessToken
}

func TestChatServiceAcceptsEveryClientVariant(t *testing.T) {
	t.Parallel()
	r := newRaw(t, Options{})
	alice, bob := r.emu.AddUser("a@x", "A"), r.emu.AddUser("b@x", "B")
	chat := r.emu.CreateGroup(bob.MRI, "", alice.MRI)
	tok := r.emu.MintSkypeToken(alice.MRI)
	for name, hdr := range map[string]map[string]string{
		"Authentication": {"Authentication": "skypetoken=" + tok},
		"X-Skypetoken":   {"X-Skypetoken": tok},
	} {
		// Raw and escaped ids both address the conversation.
		for _, id := range []string{chat, escapeID(chat)} {
			if code, _, body := r.do("GET", "/v1/users/ME/conversations/"+id+"/messages?pageSize=5", hdr, ""); code != 200 {
				t.Fatalf("%s %s: %d %s", name, id, code, body)
			}
		}
	}
	auth := map[string]string{"Authentication": "skypetoken=" + tok}
	if code, _, _ := r.do("GET", "/v1/users/ME/conversations", nil, ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	// The full Skype-style body (GK, MCP) is accepted as well as the minimal one.
	full := `{"clientmessageid":"1","content":"x","messagetype":"RichText/Html","contenttype":"text","type":"Message","conversationid":"` + chat + `","from":"8:x","composetime":"2026-01-01T00:00:00.000Z","originalarrivaltime":"2026-01-01T00:00:00.000Z","imdisplayname":"A"}`
	code, hdr, body := r.do("POST", "/v1/users/ME/conversations/"+chat+"/messages", auth, full)
	if code != 201 || !strings.Contains(body, "OriginalArrivalTime") || hdr.Get("Location") == "" {
		t.Fatalf("full body: %d %s", code, body)
	}
	id := hdr.Get("Location")[strings.LastIndex(hdr.Get("Location"), "/")+1:]
	// Edit with each variant's extra fields.
	for _, edit := range []string{
		`{"content":"e1","messagetype":"RichText/Html","contenttype":"text","imdisplayname":"A"}`,
		`{"content":"e2","messagetype":"RichText/Html","contenttype":"text","skypeeditedid":"` + id + `"}`,
		`{"content":"e3","messagetype":"RichText/Html","clientmessageid":"99","id":"` + id + `","type":"Message","conversationid":"` + chat + `"}`,
	} {
		if code, _, body := r.do("PUT", "/v1/users/ME/conversations/"+chat+"/messages/"+id, auth, edit); code != 200 {
			t.Fatalf("edit %s: %d %s", edit, code, body)
		}
	}
	if got := r.emu.Messages(chat)[0]; got.Content != "e3" || !got.Edited {
		t.Fatalf("after edits %+v", got)
	}
	// Reactions: object and JSON-string bodies.
	for _, b := range []string{`{"emotions":{"key":"like","value":1769429691997}}`, `{"emotions":"{\"key\":\"heart\",\"value\":1}"}`} {
		if code, _, body := r.do("PUT", "/v1/users/ME/conversations/"+chat+"/messages/"+id+"/properties?name=emotions", auth, b); code != 200 {
			t.Fatalf("reaction %s: %d %s", b, code, body)
		}
	}
	if got := r.emu.Messages(chat)[0].Reactions; len(got["like"]) != 1 || len(got["heart"]) != 1 {
		t.Fatalf("reactions %v", got)
	}
	// Typing with contenttype text is accepted and dropped, as Teams does.
	r.do("POST", "/v1/users/ME/conversations/"+chat+"/messages", auth, `{"content":"","contenttype":"text","messagetype":"Control/Typing"}`)
	if n := len(r.emu.TypingEvents()); n != 0 {
		t.Fatalf("text-typed typing counted: %d", n)
	}
	if code, _, _ := r.do("PUT", "/v1/users/ME/conversations/"+chat+"/properties?name=consumptionhorizon", auth, `{"consumptionhorizon":"garbage"}`); code != 400 {
		t.Fatalf("bad horizon: %d", code)
	}
	// Every horizon third-field variant is stored as sent.
	for _, h := range []string{id + ";1769191500000;1", id + ";1769191500000;" + id, "1769191500000;1769191500000;0"} {
		if code, _, _ := r.do("PUT", "/v1/users/ME/conversations/"+chat+"/properties?name=consumptionhorizon", auth, `{"consumptionhorizon":"`+h+`"}`); code != 200 || r.emu.Horizon(alice.MRI, chat) != h {
			t.Fatalf("horizon %q: %d", h, code)
		}
	}
	if code, _, _ := r.do("PUT", "/v1/users/ME/conversations/"+chat+"/messages/"+r.emu.SendText(bob.MRI, chat, "b"), auth, `{"content":"x"}`); code != 403 {
		t.Fatalf("editing another's message: %d", code)
	}
	stranger := r.emu.CreateGroup(bob.MRI, "", r.emu.AddUser("c@x", "C").MRI)
	if code, _, _ := r.do("GET", "/v1/users/ME/conversations/"+stranger+"/messages", auth, ""); code != 404 {
		t.Fatalf("foreign conversation: %d", code)
	}
	if code, _, _ := r.do("GET", "/v1/threads/48:notes", auth, ""); code != 400 {
		t.Fatalf("48:notes thread: %d", code)
	}
	if code, _, body := r.do("GET", "/v1/users/ME/conversations/48:notes", auth, ""); code != 200 || !strings.Contains(body, "streamofnotes") {
		t.Fatalf("notes: %d %s", code, body)
	}
}

func TestDeviceCodeTestAPIAndV1Endpoints(t *testing.T) {
	t.Parallel()
	r := newRaw(t, Options{})
	r.emu.AddUser("a@x", "A")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	code, _, body := r.do("POST", "/organizations/oauth2/devicecode", form, "client_id=c&resource=https://api.spaces.skype.com")
	var dc struct {
		UserCode, DeviceCode, VerificationURL string `json:"-"`
	}
	var m map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil || m["verification_url"] == nil {
		t.Fatalf("v1 device code: %d %s", code, body)
	}
	dc.UserCode, dc.DeviceCode = m["user_code"].(string), m["device_code"].(string)
	poll := func() (int, string) {
		c, _, b := r.do("POST", "/organizations/oauth2/token", form, "client_id=c&grant_type=urn:ietf:params:oauth:grant-type:device_code&code="+dc.DeviceCode)
		return c, b
	}
	if c, b := poll(); c != 400 || !strings.Contains(b, "authorization_pending") {
		t.Fatalf("pending: %d %s", c, b)
	}
	if c, _, _ := r.do("POST", "/_emu/devicelogin", form, "user_code="+dc.UserCode+"&email=a@x"); c != 204 {
		t.Fatalf("test API: %d", c)
	}
	if c, b := poll(); c != 200 || !strings.Contains(b, `"resource"`) || !strings.Contains(b, "refresh_token") {
		t.Fatalf("approved: %d %s", c, b)
	}
	if c, b := poll(); c != 400 || !strings.Contains(b, "invalid_grant") {
		t.Fatalf("redeemed twice: %d %s", c, b)
	}
	if c, _, _ := r.do("POST", "/_emu/devicelogin", form, "user_code=nope&email=a@x"); c != 404 {
		t.Fatalf("unknown code: %d", c)
	}
}

func TestSPARefreshNeedsOrigin(t *testing.T) {
	t.Parallel()
	r := newRaw(t, Options{})
	u := r.emu.AddUser("a@x", "A")
	rt := r.emu.IssueRefreshToken(u.MRI, spaClientID, WorkSpacesScope)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {spaClientID}}.Encode()
	if c, _, b := r.do("POST", "/organizations/oauth2/v2.0/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form); c != 400 || !strings.Contains(b, "AADSTS9002327") {
		t.Fatalf("without Origin: %d %s", c, b)
	}
	if c, _, b := r.do("POST", "/organizations/oauth2/v2.0/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://teams.microsoft.com"}, form); c != 200 {
		t.Fatalf("with Origin: %d %s", c, b)
	}
}

// ws is a raw socket.io client for protocol tests.
type ws struct {
	t *testing.T
	c *websocket.Conn
}

func (w *ws) send(s string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *ws) next() string {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return string(b)
}

func (r *raw) open(skype string, alloc map[string]any) *ws {
	r.t.Helper()
	cp := alloc["connectparams"].(map[string]any)
	q := url.Values{"epid": {alloc["epid"].(string)}}
	for k, v := range cp {
		q.Set(k, v.(string))
	}
	code, _, body := r.do("GET", "/socket.io/1/?"+q.Encode(), map[string]string{"X-Skypetoken": skype}, "")
	if code != 200 {
		r.t.Fatalf("handshake %d %s", code, body)
	}
	sid := strings.SplitN(body, ":", 2)[0]
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.base, "http")+"/socket.io/1/websocket/"+sid+"?"+q.Encode(), http.Header{"X-Skypetoken": {skype}})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	w := &ws{t: r.t, c: c}
	if f := w.next(); f != "1::" {
		r.t.Fatalf("first frame %q", f)
	}
	return w
}

func TestTrouterProtocol(t *testing.T) {
	t.Parallel()
	r := newRaw(t, Options{AckTimeout: time.Hour})
	alice, bob := r.emu.AddUser("a@x", "A"), r.emu.AddUser("b@x", "B")
	chat := r.emu.CreateGroup(bob.MRI, "", alice.MRI)
	skype := r.emu.MintSkypeToken(alice.MRI)
	bearer := r.accessToken(alice, WorkSpacesScope)
	if c, _, _ := r.do("POST", "/v4/a?epid=ep1", nil, ""); c != 401 {
		t.Fatalf("allocate without token: %d", c)
	}
	c, _, body := r.do("POST", "/v4/a?epid=ep1", map[string]string{"X-Skypetoken": skype}, "")
	var alloc map[string]any
	if c != 200 || json.Unmarshal([]byte(body), &alloc) != nil || alloc["surl"] == nil || alloc["socketio"] == nil {
		t.Fatalf("allocate: %d %s", c, body)
	}
	alloc["epid"] = "ep1"
	cp := alloc["connectparams"].(map[string]any)
	if c, _, _ := r.do("GET", "/socket.io/1/?epid=ep1&sig=wrong", map[string]string{"X-Skypetoken": skype}, ""); c != 401 {
		t.Fatalf("handshake with a wrong sig: %d", c)
	}
	// A bad bearer in user.authenticate is refused and the socket closed.
	w := r.open(skype, alloc)
	w.send(`5:::{"name":"user.authenticate","args":[{"headers":{"Authorization":"Bearer nope"},"connectparams":{}}]}`)
	if f := w.next(); !strings.Contains(f, "trouter.error") {
		t.Fatalf("bad auth answered %q", f)
	}
	w = r.open(skype, alloc)
	w.send(`5:1+::{"name":"ping"}`) // before authenticate: ignored
	auth, _ := json.Marshal(map[string]any{"name": "user.authenticate", "args": []any{map[string]any{"headers": map[string]string{"Authorization": "Bearer " + bearer}, "connectparams": cp}}})
	w.send("5:::" + string(auth))
	if f := w.next(); !strings.HasPrefix(f, `5:1::{"name":"trouter.connected"`) {
		t.Fatalf("connected frame %q", f)
	}
	w.send(`5:2+::{"name":"ping"}`)
	if f := w.next(); f != `6:::2+["pong"]` {
		t.Fatalf("pong %q", f)
	}
	w.send("2::")
	if f := w.next(); f != "2::" {
		t.Fatalf("heartbeat %q", f)
	}
	// No registration yet: nothing is delivered.
	r.emu.SendText(bob.MRI, chat, "unregistered")
	if st := r.emu.Trouter(alice.MRI); st.Delivered != 0 || st.Connected != 1 {
		t.Fatalf("delivered without registration: %+v", st)
	}
	reg := func(regID string) int {
		b, _ := json.Marshal(map[string]any{"clientDescription": map[string]string{"appId": "TeamsCDLWebWorker", "templateKey": "TeamsCDLWebWorker_2.1"},
			"registrationId": regID, "transports": map[string]any{"TROUTER": []any{map[string]any{"path": alloc["surl"], "ttl": 86400}}}})
		c, _, _ := r.do("POST", "/registrar/prod/V2/registrations", map[string]string{"X-Skypetoken": skype, "Authorization": "Bearer " + bearer}, string(b))
		return c
	}
	if c := reg("other"); c != 400 {
		t.Fatalf("worker registered with a foreign id: %d", c)
	}
	if c := reg("ep1"); c != 202 {
		t.Fatalf("registration: %d", c)
	}
	id := r.emu.SendText(bob.MRI, chat, "hello")
	f := w.next()
	if !strings.HasPrefix(f, "3:::") {
		t.Fatalf("delivery frame %q", f)
	}
	var d struct {
		ID      int64             `json:"id"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	if err := json.Unmarshal([]byte(f[4:]), &d); err != nil || !strings.HasSuffix(d.URL, "/messaging") || d.Headers["Trouter-Timeout"] == "" {
		t.Fatalf("delivery %+v %v", d, err)
	}
	var ev map[string]any
	if json.Unmarshal([]byte(d.Body), &ev) != nil || ev["resourceType"] != "NewMessage" || ev["resource"].(map[string]any)["id"] != id {
		t.Fatalf("event %s", d.Body)
	}
	if st := r.emu.Trouter(alice.MRI); st.Pending != 1 {
		t.Fatalf("pending %+v", st)
	}
	b, _ := json.Marshal(map[string]any{"id": d.ID, "status": 200, "body": ""})
	w.send("3:::" + string(b))
	if !r.emu.WaitFor(5*time.Second, func() bool { return r.emu.Trouter(alice.MRI).Pending == 0 }) {
		t.Fatal("ack not taken")
	}
	// Pushes while the socket is gone are lost; the next connection hears so.
	w.c.Close()
	if !r.emu.WaitFor(5*time.Second, func() bool { return r.emu.Trouter(alice.MRI).Connected == 0 }) {
		t.Fatal("close not noticed")
	}
	r.emu.SendText(bob.MRI, chat, "into the void")
	_, _, body = r.do("POST", "/v4/a?epid=ep1", map[string]string{"X-Skypetoken": skype}, "")
	_ = json.Unmarshal([]byte(body), &alloc)
	alloc["epid"] = "ep1"
	w = r.open(skype, alloc)
	auth, _ = json.Marshal(map[string]any{"name": "user.authenticate", "args": []any{map[string]any{"headers": map[string]string{"Authorization": "Bearer " + bearer}, "connectparams": alloc["connectparams"]}}})
	w.send("5:::" + string(auth))
	if f := w.next(); !strings.Contains(f, "trouter.connected") {
		t.Fatalf("%q", f)
	}
	if f := w.next(); !strings.HasPrefix(f, "5:2::") || !strings.Contains(f, "trouter.message_loss") || !strings.Contains(f, "droppedIndicators") {
		t.Fatalf("message_loss frame %q", f)
	}
	// The new surl needs a new registration.
	if st := r.emu.Trouter(alice.MRI); st.Registered != 0 || st.Endpoints != 1 {
		t.Fatalf("after reconnect %+v", st)
	}
}

func TestDemoColleaguesAnswer(t *testing.T) {
	t.Parallel()
	var live atomic.Pointer[Emulator]
	e := New(Options{OnMessage: Colleagues(context.Background(), live.Load, "demo@contoso.com")})
	e.Start()
	t.Cleanup(e.Close)
	d := e.SeedDemo()
	seeded := len(e.Messages(d.DM))
	live.Store(e)
	id := e.SendText(d.Work.MRI, d.DM, "ship it?")
	if !e.WaitFor(10*time.Second, func() bool { return len(e.Messages(d.DM)) == seeded+2 }) {
		t.Fatalf("no answer: %+v", e.Messages(d.DM))
	}
	msgs := e.Messages(d.DM)
	if ans := msgs[len(msgs)-1]; ans.From != d.Bob.MRI || !strings.Contains(ans.Content, "Got it: ship it?") {
		t.Fatalf("answer %+v", ans)
	}
	if r := msgs[len(msgs)-2]; r.ID != id || len(r.Reactions["like"]) != 1 {
		t.Fatalf("reaction %+v", r)
	}
	if len(e.Messages(d.Team.Channels[1])) != 2 || e.Topic(d.Group) != "Project Phoenix" {
		t.Fatal("seed")
	}
}
