package skypeapi_test

// Wire tests: raw answers shaped exactly like the examples of
// /work/shared/protocols/skype-web.md (§3.2, §4.1, §5.3) and skpy, served by
// small httptest servers, with and without the optional parts.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

// wireRequest is what a fixture server saw.
type wireRequest struct {
	Method, Host, Path, RawPath, Query string
	Header                             http.Header
	Body                               string
}

type wireServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []wireRequest
}

func newWireServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *wireServer {
	t.Helper()
	ws := &wireServer{}
	ws.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		ws.mu.Lock()
		ws.reqs = append(ws.reqs, wireRequest{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
			Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
		n := len(ws.reqs)
		ws.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(ws.Close)
	return ws
}

func (ws *wireServer) requests() []wireRequest {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]wireRequest(nil), ws.reqs...)
}

func wireClient(t *testing.T, msgsHost string) *skypeapi.Client {
	t.Helper()
	cfg := skypeapi.Config{MsgsHost: msgsHost, LoginLiveURL: msgsHost, EdgeURL: msgsHost, LoginSkypeURL: msgsHost, APIURL: msgsHost,
		ContactsURL: msgsHost, ProfileURL: msgsHost, ASMURL: msgsHost, AllowInsecureHTTP: true,
		Retry: chatsvc.RetryPolicy{MaxAttempts: 1}}
	c, err := skypeapi.NewClient(cfg, skypeapi.Session{SkypeToken: "skype-tok", UserID: "fred.2", Expires: time.Now().Add(24 * time.Hour)}, skypeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRegistrationAnswerVariants feeds the endpoints call every answer
// shape §4.1 and skpy's SkypeRegistrationTokenProvider know, then checks
// the endpoint id, the host used afterwards and the header sent with the
// registration token.
func TestRegistrationAnswerVariants(t *testing.T) {
	const eid = "{eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee}"
	const eidEsc = "%7Beeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee%7D"
	expires := time.Now().Add(24 * time.Hour).Unix()
	full := func(tok string) string {
		return "registrationToken=" + tok + "; expires=" + jsonInt(expires) + "; endpointId=" + eid
	}
	type answer struct {
		status int
		setReg string
		loc    string // "{self}" or "{other}" are replaced by the server roots
		body   string
	}
	cases := []struct {
		name string
		// first answers the endpoints POST on the configured host; second,
		// when set, answers it on the other host.
		first, second *answer
		wantOther     bool
	}{
		{name: "201 with everything", first: &answer{201, full("U2lnbmF0dXJl"), "{self}/v1/users/ME/endpoints/" + eidEsc, `[{"id":"` + eid + `","subscriptions":[]}]`}},
		{name: "200 token without endpointId, id in Location", first: &answer{200, "registrationToken=U2lnbmF0dXJl; expires=" + jsonInt(expires), "{self}/v1/users/ME/endpoints/" + eidEsc, `{}`}},
		{name: "200 id only in the endpoint list", first: &answer{200, "registrationToken=U2lnbmF0dXJl; expires=" + jsonInt(expires), "{self}/v1/users/ME/endpoints", `[{"id":"` + eid + `","subscriptions":[]},{"id":"{00000000-0000-0000-0000-000000000001}"}]`}},
		{name: "no Location at all", first: &answer{201, full("U2lnbmF0dXJl"), "", `[]`}},
		{name: "404 redirectAs404 to another host", first: &answer{404, "", "{other}/v1/users/ME/endpoints", `{"errorCode":752,"message":"Your princess is in another castle"}`},
			second: &answer{201, full("U2lnbmF0dXJl"), "{other}/v1/users/ME/endpoints/" + eidEsc, `[]`}, wantOther: true},
		{name: "historic 301 to another host", first: &answer{301, "", "{other}/v1/users/ME/endpoints", ``},
			second: &answer{201, full("U2lnbmF0dXJl"), "{other}/v1/users/ME/endpoints/" + eidEsc, `[]`}, wantOther: true},
		{name: "201 whose Location names another host: register there, ignore the token", first: &answer{201, full("ignore-me"), "{other}/v1/users/ME/endpoints/" + eidEsc, `[]`},
			second: &answer{201, full("U2lnbmF0dXJl"), "{other}/v1/users/ME/endpoints/" + eidEsc, `[]`}, wantOther: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var self, other *wireServer
			serve := func(a *answer) func(w http.ResponseWriter, r *http.Request, n int) {
				return func(w http.ResponseWriter, r *http.Request, _ int) {
					if r.Method == http.MethodPost && r.URL.Path == "/v1/users/ME/endpoints" && a != nil {
						if a.setReg != "" {
							w.Header().Set("Set-RegistrationToken", a.setReg)
						}
						if a.loc != "" {
							w.Header().Set("Location", strings.NewReplacer("{self}", self.URL, "{other}", other.URL).Replace(a.loc))
						}
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(a.status)
						_, _ = io.WriteString(w, a.body)
						return
					}
					w.WriteHeader(http.StatusCreated)
					_, _ = io.WriteString(w, `{}`)
				}
			}
			self = newWireServer(t, serve(tc.first))
			other = newWireServer(t, serve(tc.second))
			c := wireClient(t, self.URL)
			if err := c.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			reg := c.Registration()
			if reg.EndpointID != eid || reg.Token != "U2lnbmF0dXJl" {
				t.Fatalf("registration %+v, want endpoint %s and the real token", reg, eid)
			}
			want, notWant := self, other
			if tc.wantOther {
				want, notWant = other, self
			}
			if reg.MsgsHost != want.URL {
				t.Fatalf("msgsHost %s, want %s", reg.MsgsHost, want.URL)
			}
			// Every messaging call after registration goes to msgsHost with
			// the bare registration token; the endpoint id is escaped with
			// braces in the path.
			var sawDoc, sawSub bool
			for _, r := range want.requests() {
				if r.Path == "/v1/users/ME/endpoints" {
					if r.Header.Get("Authentication") != "skypetoken=skype-tok" || !strings.HasPrefix(r.Header.Get("LockAndKey"), "appId=msmsgs@msnmsgr.com; time=") {
						t.Fatalf("registration headers %v", r.Header)
					}
					continue
				}
				if got := r.Header.Get("RegistrationToken"); got != "registrationToken=U2lnbmF0dXJl" {
					t.Fatalf("%s %s sent RegistrationToken %q", r.Method, r.Path, got)
				}
				switch r.RawPath {
				case "/v1/users/ME/endpoints/" + eidEsc + "/presenceDocs/messagingService":
					sawDoc = r.Method == http.MethodPut
				case "/v1/users/ME/endpoints/" + eidEsc + "/subscriptions":
					sawSub = r.Method == http.MethodPost
					var body struct {
						Resources   []string `json:"interestedResources"`
						Template    string   `json:"template"`
						ChannelType string   `json:"channelType"`
					}
					if json.Unmarshal([]byte(r.Body), &body) != nil || body.Template != "raw" || body.ChannelType != "httpLongPoll" || len(body.Resources) != 4 {
						t.Fatalf("subscription body %s", r.Body)
					}
				}
			}
			if !sawDoc || !sawSub {
				t.Fatalf("presence doc %v, subscription %v on %s: %+v", sawDoc, sawSub, want.URL, want.requests())
			}
			for _, r := range notWant.requests() {
				if r.Path != "/v1/users/ME/endpoints" {
					t.Fatalf("messaging call %s %s went to the host that was left", r.Method, r.Path)
				}
			}
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestPresenceOfLinkShapes: a UserPresence event names the user in its
// selfLink (.../users/8:joe.4/...) and its resourceLink
// (.../users/ME/contacts/8:joe.4/...); either may be missing or escaped.
func TestPresenceOfLinkShapes(t *testing.T) {
	cases := []struct {
		name, event, mri, status string
	}{
		{"selfLink and resourceLink", `{"id":1003,"type":"EventMessage","resourceType":"UserPresence","time":"2016-01-01T00:00:00Z",
		 "resourceLink":"https://db3-client-s.gateway.messenger.live.com/v1/users/ME/contacts/8:joe.4/presenceDocs/messagingService",
		 "resource":{"id":"messagingService","type":"UserPresenceDoc","availability":"Online","status":"Busy","capabilities":"","endpointPresenceDocLinks":[],
		  "selfLink":"https://db3-client-s.gateway.messenger.live.com/v1/users/8:joe.4/presenceDocs/messagingService"}}`, "8:joe.4", "Busy"},
		{"resourceLink only", `{"id":1004,"type":"EventMessage","resourceType":"UserPresence","time":"2016-01-01T00:00:00Z",
		 "resourceLink":"https://db3-client-s.gateway.messenger.live.com/v1/users/ME/contacts/8:live:joe.4/presenceDocs/messagingService",
		 "resource":{"id":"messagingService","type":"UserPresenceDoc","availability":"Offline","status":"Hidden"}}`, "8:live:joe.4", "Hidden"},
		{"escaped MRI, availability only", `{"id":1005,"resourceType":"UserPresence",
		 "resourceLink":"https://h/v1/users/ME/contacts/8%3Ajoe.4/presenceDocs/messagingService",
		 "resource":{"id":"messagingService","type":"UserPresenceDoc","availability":"Online"}}`, "8:joe.4", "Online"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := chatsvc.ParseEventMessage([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := skypeapi.PresenceOf(ev)
			if !ok || p.MRI != tc.mri || p.Status != tc.status {
				t.Fatalf("got %+v %v, want %s %s", p, ok, tc.mri, tc.status)
			}
		})
	}
}

// TestLoginLivePageShapes runs the §3.2 flow against pages shaped like
// login.live.com's: PPFT written by script (sFTTag) or as a plain input,
// opid in a script URL raw or as "&amp;opid=", the t field by id.
func TestLoginLivePageShapes(t *testing.T) {
	cases := []struct {
		name, loginPage, opidPage string
	}{
		{"script PPFT, raw opid",
			`<html><script>var ServerData={sFTTag:'<input type="hidden" name="PPFT" id="i0327" value="DaBc!x*Y$$"/>',urlPost:'https://login.live.com/ppsecure/post.srf?wa=wsignin1.0'};</script></html>`,
			`<script>var ServerData={urlPost:'https://login.live.com/ppsecure/post.srf?wa=wsignin1.0&opid=ABC123DEF&route=C',sErrTxt:''};</script>`},
		{"plain PPFT input, escaped opid",
			`<html><body><form><input type="hidden" name="PPFT" id="i0327" value="DaBc!x*Y$$"/></form></body></html>`,
			`<form name="f1" action="https://login.live.com/ppsecure/post.srf?wa=wsignin1.0&amp;opid=ABC123DEF&amp;route=C"><input type="hidden" name="PPFT" value="DaBc!x*Y$$"/></form>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				_ = r.ParseForm()
				switch {
				case r.URL.Path == "/login/oauth/microsoft":
					http.SetCookie(w, &http.Cookie{Name: "MSPRequ", Value: "req", Path: "/"})
					http.SetCookie(w, &http.Cookie{Name: "MSPOK", Value: "ok", Path: "/"})
					_, _ = io.WriteString(w, tc.loginPage)
				case r.URL.Path == "/ppsecure/post.srf" && r.PostForm.Get("login") != "":
					if r.PostForm.Get("PPFT") != "DaBc!x*Y$$" || r.PostForm.Get("passwd") != "pw" || r.PostForm.Get("loginoptions") != "3" {
						http.Error(w, "bad form", http.StatusBadRequest)
						return
					}
					if c, err := r.Cookie("MSPOK"); err != nil || c.Value != "ok" {
						http.Error(w, "no MSPOK cookie", http.StatusBadRequest)
						return
					}
					_, _ = io.WriteString(w, tc.opidPage)
				case r.URL.Path == "/ppsecure/post.srf" && r.PostForm.Get("opid") == "ABC123DEF":
					if r.PostForm.Get("type") != "28" || r.PostForm.Get("oauthPartner") != "999" || r.PostForm.Get("client_id") != "578134" {
						http.Error(w, "bad opid form", http.StatusBadRequest)
						return
					}
					_, _ = io.WriteString(w, `<html><form><input type="hidden" name="NAPExp" value="x"><input type="hidden" id="t" value="EwA+t/ticket="></form></html>`)
				case r.URL.Path == "/login/microsoft" && r.PostForm.Get("t") == "EwA+t/ticket=":
					_, _ = io.WriteString(w, `<html><input type="hidden" name="skypetoken" value="skype-tok"/><input type="hidden" name="expires_in" value="86400"/></html>`)
				case r.URL.Path == "/users/self/profile" && r.Header.Get("X-SkypeToken") == "skype-tok":
					_, _ = io.WriteString(w, `{"username":"live:joe.4","firstname":"Joe","lastname":"Bloggs"}`)
				default:
					http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusTeapot)
				}
			})
			a, err := skypeapi.NewAuth(skypeapi.Config{LoginLiveURL: ws.URL, LoginSkypeURL: ws.URL, APIURL: ws.URL, EdgeURL: ws.URL, AllowInsecureHTTP: true})
			if err != nil {
				t.Fatal(err)
			}
			s, err := a.LoginLive(ctxT(t), "joe@example.com", "pw")
			if err != nil {
				t.Fatalf("%v (requests %+v)", err, ws.requests())
			}
			if s.SkypeToken != "skype-tok" || s.UserID != "live:joe.4" || time.Until(s.Expires) < 23*time.Hour {
				t.Fatalf("session %+v", s)
			}
		})
	}
}

// TestContactListShapes: the contacts/v2 list as the reference shows it
// (§9), as skpy's fixtures shape it (bare "mri", a suggestion keyed by
// "id"), and old-style entries (bare "id" with a "type").
func TestContactListShapes(t *testing.T) {
	type want struct{ mri, name, avatar string }
	cases := []struct {
		name string
		body string
		want []want
	}{
		{"reference v2", `{"contacts":[{"mri":"8:joe.4","display_name":"Joe Bloggs","authorized":true,"blocked":false,"favorite":true,
		  "profile":{"avatar_url":"https://avatar.skype.com/v1/avatars/joe.4","name":{"first":"Joe","surname":"Bloggs","nickname":"jb"},"mood":"Happy","locations":[{"city":"London","country":"GB"}],"phones":[{"number":"+442099887766","type":0}]}},
		 {"mri":"8:live:.cid.1234abcd","authorized":true,"profile":{"name":{"first":"Ann"}}},
		 {"mri":"8:anna.7","display_name":"Anna Cooper","suggested":true}],
		 "groups":[],"blocklist":[],"count":3,"scope":"full"}`,
			[]want{{"8:joe.4", "Joe Bloggs", "https://avatar.skype.com/v1/avatars/joe.4"}, {"8:live:.cid.1234abcd", "Ann", ""}}},
		{"skpy fixture", `{"contacts":[{"authorized":true,"blocked":false,"display_name":"Joe Bloggs","mri":"joe.4",
		  "profile":{"avatar_url":"https://api.skype.com/users/joe.4/profile/avatar","locations":[{"city":"London","state":null,"country":"GB"}],
		   "mood":"Happy <ss type=\"laugh\">:D</ss>","name":{"first":"Joe","surname":"Bloggs","nickname":"Joe Bloggs"},
		   "phones":[{"number":"+442099887766","type":0}]}},
		 {"authorized":false,"blocked":false,"display_name":"Anna Cooper","id":"anna.7","name":{"first":"Anna","surname":"Cooper"},"suggested":true}]}`,
			[]want{{"8:joe.4", "Joe Bloggs", "https://api.skype.com/users/joe.4/profile/avatar"}}},
		{"old style", `{"contacts":[{"id":"joe.4","type":"skype","authorized":true,"name":{"first":"Joe","surname":"Bloggs"},"avatar_url":"https://a/joe"},
		 {"id":"concierge","type":"agent","display_name":"Concierge"},
		 {"id":"+441234567890","type":"pstn","firstname":"Home","lastname":"Phone"}]}`,
			[]want{{"8:joe.4", "Joe Bloggs", "https://a/joe"}, {"28:concierge", "Concierge", ""}, {"4:+441234567890", "Home Phone", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.URL.Path != "/contacts/v2/users/fred.2" || r.Header.Get("X-SkypeToken") != "skype-tok" {
					http.Error(w, "unexpected", http.StatusTeapot)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tc.body)
			})
			got, err := wireClient(t, ws.URL).Contacts(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d contacts %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				if got[i].MRI != w.mri || got[i].Name() != w.name || got[i].Profile.AvatarURL != w.avatar {
					t.Errorf("contact %d = %s %q %q, want %+v", i, got[i].MRI, got[i].Name(), got[i].Profile.AvatarURL, w)
				}
			}
		})
	}
}

// TestRefreshFollowsRedirectWithCookie: §3.4's refresh sends the
// skypetoken as the refresh-token cookie; login.skype.com may redirect
// within itself before answering the page with the t field.
func TestRefreshFollowsRedirectWithCookie(t *testing.T) {
	for _, redirect := range []bool{false, true} {
		ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			_ = r.ParseForm()
			switch {
			case r.URL.Path == "/login" && redirect && r.URL.Query().Get("intsrc") == "":
				http.Redirect(w, r, "/login?client_id=578134&redirect_uri=https%3A%2F%2Fweb.skype.com&intsrc=client", http.StatusFound)
			case r.URL.Path == "/login":
				if c, err := r.Cookie("refresh-token"); err != nil || c.Value != "old-tok" {
					_, _ = io.WriteString(w, `<html>sign in again</html>`)
					return
				}
				_, _ = io.WriteString(w, `<html><input type="hidden" name="t" id="t" value="T-ticket"/></html>`)
			case r.URL.Path == "/login/microsoft" && r.PostForm.Get("t") == "T-ticket":
				_, _ = io.WriteString(w, `<input type="hidden" name="skypetoken" value="new-tok"/><input type="hidden" name="expires_in" value="86400"/>`)
			case r.URL.Path == "/users/self/profile":
				_, _ = io.WriteString(w, `{"username":"fred.2"}`)
			default:
				http.Error(w, "unexpected", http.StatusTeapot)
			}
		})
		a, err := skypeapi.NewAuth(skypeapi.Config{LoginSkypeURL: ws.URL, APIURL: ws.URL, LoginLiveURL: ws.URL, EdgeURL: ws.URL, AllowInsecureHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Refresh(ctxT(t), "old-tok")
		if err != nil || s.SkypeToken != "new-tok" || s.UserID != "fred.2" {
			t.Fatalf("redirect=%v: %+v %v", redirect, s, err)
		}
	}
}

// TestListenOnReferencePollAnswers drives Listen with the poll answers of
// §5.2/§5.3/§6.6: the captured NewMessage envelope (integer id, second
// precision time, an ackrequired on a regional host), then 729 (register
// again), then 450 (subscribe again), then an empty poll.
func TestListenOnReferencePollAnswers(t *testing.T) {
	const event = `{"eventMessages":[{"id":1108,"type":"EventMessage","resourceType":"NewMessage",
 "time":"2018-03-09T13:55:00Z",
 "resourceLink":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:live:20a002c57bc1f838/messages/1520603700830",
 "resource":{"clientmessageid":"17555921056000866618","type":"Message","messagetype":"RichText",
  "originalarrivaltime":"2018-03-09T13:54:59.360Z","version":"1520603700830","contenttype":"text",
  "origincontextid":"0","isactive":true,
  "from":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/contacts/8:live:20a002c57bc1f838",
  "conversationLink":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:live:20a002c57bc1f838",
  "id":"1520603700830","imdisplayname":"Live User","composetime":"2018-03-09T13:54:59.360Z",
  "content":"hello","ackrequired":"https://db4-client-s.gateway.messenger.live.com/v1/users/ME/conversations/ALL/messages/1520603700830/ack"}}]}`
	var mu sync.Mutex
	polls, regs := 0, 0
	ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/users/ME/endpoints" && r.Method == http.MethodPost:
			regs++
			id := "{0000000" + string(rune('0'+regs)) + "-eeee-eeee-eeee-eeeeeeeeeeee}"
			w.Header().Set("Set-RegistrationToken", "registrationToken=tok"+string(rune('0'+regs))+"; expires="+jsonInt(time.Now().Add(time.Hour).Unix())+"; endpointId="+id)
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `[]`)
		case strings.HasSuffix(r.URL.Path, "/subscriptions/0/poll"):
			polls++
			switch polls {
			case 1:
				_, _ = io.WriteString(w, event)
			case 2:
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"errorCode":729,"message":"You must create an endpoint before performing this operation"}`)
			case 3:
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"errorCode":450,"message":"Subscription requested could not be found."}`)
			default:
				time.Sleep(20 * time.Millisecond)
				_, _ = io.WriteString(w, `{"eventMessages":[]}`)
			}
		default:
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{}`)
		}
	})
	c := wireClient(t, ws.URL)
	rec := &recorder{}
	listen(t, c, rec, skypeapi.ListenOptions{KeepAlive: -1})
	waitFor(t, "polls after the lost subscription", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return polls >= 5
	})
	msgs := rec.messages("hello")
	if len(msgs) != 1 {
		t.Fatalf("handled %d copies of the message", len(msgs))
	}
	m := msgs[0]
	conv, _ := m.Conversation()
	if m.Sender() != "8:live:20a002c57bc1f838" || conv != "8:live:20a002c57bc1f838" || string(m.ClientMessageID) != "17555921056000866618" {
		t.Fatalf("message %+v (conversation %s)", m, conv)
	}
	if ev := rec.ofType(chatsvc.ResourceNewMessage)[0]; ev.ID.Int() != 1108 || !ev.Time.Equal(time.Date(2018, 3, 9, 13, 55, 0, 0, time.UTC)) {
		t.Fatalf("envelope id %s time %v", ev.ID, ev.Time)
	}
	if rec.gapCount() != 2 {
		t.Fatalf("%d gaps reported, want one for 729 and one for 450", rec.gapCount())
	}
	var acked, ackID bool
	subs := 0
	for _, r := range ws.requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/users/ME/conversations/ALL/messages/1520603700830/ack" {
			acked = r.Header.Get("RegistrationToken") == "registrationToken=tok1"
		}
		if strings.HasSuffix(r.Path, "/poll") && strings.Contains(r.Query, "ackId=1108") {
			ackID = true
		}
		if strings.HasSuffix(r.Path, "/subscriptions") && r.Method == http.MethodPost {
			subs++
		}
	}
	if !acked || !ackID {
		t.Fatalf("per-message ack on our host %v, cumulative ackId %v", acked, ackID)
	}
	mu.Lock()
	gotRegs := regs
	mu.Unlock()
	if gotRegs != 2 || subs != 3 {
		t.Fatalf("%d registrations and %d subscriptions, want 2 and 3", gotRegs, subs)
	}
}

// TestSkypeQueryForms: a delete is a bare DELETE of the message (§6.3, no
// Teams softDelete behaviour) and history asks for skpy's view (§7.2);
// ids stay raw in the path.
func TestSkypeQueryForms(t *testing.T) {
	ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/users/ME/endpoints":
			w.Header().Set("Set-RegistrationToken", "registrationToken=tok; expires="+jsonInt(time.Now().Add(time.Hour).Unix())+"; endpointId={e}")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodDelete:
			_, _ = io.WriteString(w, `{"deletetime":1451606400000}`)
		default:
			_, _ = io.WriteString(w, `{"messages":[{"id":"1451606400000","version":"1451606400000","clientmessageid":"1451606399999","type":"Message","messagetype":"Text","content":"A message for the team.",
			  "from":"https://h/v1/users/ME/contacts/8:anna.7","conversationLink":"https://h/v1/users/ME/conversations/19:cccc@thread.skype","originalarrivaltime":"2016-01-01T00:00:00.000Z","composetime":"2016-01-01T00:00:00.000Z"}],
			  "_metadata":{"totalCount":1}}`)
		}
	})
	c := wireClient(t, ws.URL)
	if err := c.Delete(ctxT(t), "19:cccc@thread.skype", "1451606400000"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.History(ctxT(t), "8:joe.4", time.Time{}, 30)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("history %+v %v", msgs, err)
	}
	var del, hist *wireRequest
	for _, r := range ws.requests() {
		r := r
		switch {
		case r.Method == http.MethodDelete:
			del = &r
		case r.Method == http.MethodGet:
			hist = &r
		}
	}
	if del == nil || del.RawPath != "/v1/users/ME/conversations/19:cccc@thread.skype/messages/1451606400000" || del.Query != "" {
		t.Fatalf("delete %+v", del)
	}
	if hist == nil || hist.RawPath != "/v1/users/ME/conversations/8:joe.4/messages" || !strings.Contains(hist.Query, "view=supportsExtendedHistory%7Cmsnp24Equivalent%7CsupportsMessageProperties") {
		t.Fatalf("history %+v", hist)
	}
}
