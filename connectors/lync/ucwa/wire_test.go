package ucwa

// Wire tests: raw answers shaped like the examples of
// /work/shared/protocols/lync-ucwa.md and seed 002, served by a small
// httptest server, with and without the optional parts.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type seenRequest struct {
	Method, Path, Query, ContentType, Auth, Accept, Body string
}

// fixture is a UCWA server answering with the reference's documents.
// Hrefs inside the application are server-relative as real servers send
// them; autodiscover hrefs are absolute.
type fixture struct {
	srv *httptest.Server
	// embedded: the application embeds me/people/communication (§3.1);
	// otherwise it only links them.
	embedded bool
	// challenge is the MsRtcOAuth WWW-Authenticate value (%s = base URL).
	challenge string
	mu        sync.Mutex
	available bool // makeMeAvailable was called: me gains its presence links
	seen      []seenRequest
	routes    map[string]func(w http.ResponseWriter, r *http.Request)
}

const appBase = "/ucwa/oauth/v1/applications/105"

func newFixture(t *testing.T, embedded bool, challenge string) *fixture {
	t.Helper()
	f := &fixture{embedded: embedded, challenge: challenge, routes: map[string]func(http.ResponseWriter, *http.Request){}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fixture) find(method, path string) (seenRequest, bool) {
	for _, r := range f.requests() {
		if r.Method == method && r.Path == path {
			return r, true
		}
	}
	return seenRequest{}, false
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const meJSON = `{"name":"Lene Aaling","uri":"sip:lenea@contoso.com","rel":"me",
   "_links":{"self":{"href":"/ucwa/oauth/v1/applications/105/me"},
    "makeMeAvailable":{"href":"/ucwa/oauth/v1/applications/105/me/makeMeAvailable"},
    "callForwardingSettings":{"href":"/ucwa/oauth/v1/applications/105/me/callForwardingSettings"},
    "phones":{"href":"/ucwa/oauth/v1/applications/105/me/phones"},
    "photo":{"href":"/ucwa/oauth/v1/applications/105/photos/lenea@contoso.com"}}}`

const peopleJSON = `{"rel":"people","_links":{
    "self":{"href":"/ucwa/oauth/v1/applications/105/people"},
    "presenceSubscriptions":{"href":"/ucwa/oauth/v1/applications/105/people/presenceSubscriptions"},
    "subscribedContacts":{"href":"/ucwa/oauth/v1/applications/105/people/subscribedContacts"},
    "myGroups":{"href":"/ucwa/oauth/v1/applications/105/people/groups"},
    "myContacts":{"href":"/ucwa/oauth/v1/applications/105/people/contacts"},
    "search":{"href":"/ucwa/oauth/v1/applications/105/people/search"}}}`

const communicationJSON = `{
   "4d221db7-4af0-476b-9443-8bc874283085":"please pass this in a PUT request",
   "supportedModalities":[],"supportedMessageFormats":["Plain"],
   "_links":{
    "self":{"href":"/ucwa/oauth/v1/applications/105/communication"},
    "conversations":{"href":"/ucwa/oauth/v1/applications/105/communication/conversations?filter=active"},
    "startMessaging":{"href":"/ucwa/oauth/v1/applications/105/communication/messagingInvitations"},
    "startOnlineMeeting":{"href":"/ucwa/oauth/v1/applications/105/communication/onlineMeetingInvitations?onlineMeetingUri=adhoc"},
    "joinOnlineMeeting":{"href":"/ucwa/oauth/v1/applications/105/communication/onlineMeetingInvitations"}},
   "rel":"communication","etag":"3140562359"}`

// me is the me resource; after makeMeAvailable it links presence, note,
// location and reportMyActivity (§3.2).
func (f *fixture) me() string {
	f.mu.Lock()
	available := f.available
	f.mu.Unlock()
	if !available {
		return meJSON
	}
	return strings.Replace(meJSON, `"self":{"href":"/ucwa/oauth/v1/applications/105/me"},`, `"self":{"href":"/ucwa/oauth/v1/applications/105/me"},
    "presence":{"href":"/ucwa/oauth/v1/applications/105/me/presence"},"note":{"href":"/ucwa/oauth/v1/applications/105/me/note"},
    "location":{"href":"/ucwa/oauth/v1/applications/105/me/location"},"reportMyActivity":{"href":"/ucwa/oauth/v1/applications/105/me/reportMyActivity"},`, 1)
}

func (f *fixture) application() string {
	links := `"self":{"href":"/ucwa/oauth/v1/applications/105"},
  "policies":{"href":"/ucwa/oauth/v1/applications/105/policies"},
  "batch":{"href":"/ucwa/oauth/v1/applications/105/batch"},
  "events":{"href":"/ucwa/oauth/v1/applications/105/events?ack=1"}`
	if f.embedded {
		return `{"culture":"en-US","userAgent":"UCWA Samples","_links":{` + links + `},
 "_embedded":{"me":` + f.me() + `,"people":` + peopleJSON + `,"onlineMeetings":{"rel":"onlineMeetings","_links":{"self":{"href":"/ucwa/oauth/v1/applications/105/onlineMeetings"}}},"communication":` + communicationJSON + `},
 "rel":"application"}`
	}
	return `{"culture":"en-US","userAgent":"UCWA Samples","_links":{` + links + `,
  "me":{"href":"/ucwa/oauth/v1/applications/105/me"},
  "people":{"href":"/ucwa/oauth/v1/applications/105/people"},
  "communication":{"href":"/ucwa/oauth/v1/applications/105/communication"}},
 "rel":"application"}`
}

func (f *fixture) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"),
		Auth: r.Header.Get("Authorization"), Accept: r.Header.Get("Accept"), Body: string(body)})
	route := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	base := f.srv.URL
	authed := r.Header.Get("Authorization") == "Bearer cwt=AAEBHAAFAAAAAAAFFQAAAA"
	switch {
	case route != nil:
		route(w, r)
	case r.URL.Path == "/":
		writeJSON(w, 200, `{"_links":{
  "self":{"href":"`+base+`/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"},
  "user":{"href":"`+base+`/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"},
  "xframe":{"href":"`+base+`/Autodiscover/XFrame/XFrame.html"}}}`)
	case r.URL.Path == "/WebTicket/oauthtoken" && r.Method == http.MethodPost:
		writeJSON(w, 200, `{"access_token":"cwt=AAEBHAAFAAAAAAAFFQAAAA","expires_in":28289,"ms_rtc_identityscope":"local","token_type":"Bearer"}`)
	case !authed:
		w.Header().Add("WWW-Authenticate", `Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", client_id="00000004-0000-0ff1-ce00-000000000000"`)
		w.Header().Add("WWW-Authenticate", strings.ReplaceAll(f.challenge, "%s", base))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "<html><body>401 UNAUTHORIZED</body></html>")
	case r.URL.Path == "/Autodiscover/AutodiscoverService.svc/root/oauth/user":
		writeJSON(w, 200, `{"_links":{
  "self":{"href":"`+base+`/Autodiscover/AutodiscoverService.svc/root/user"},
  "applications":{"href":"`+base+`/ucwa/oauth/v1/applications"},
  "xframe":{"href":"`+base+`/Autodiscover/XFrame/XFrame.html"}}}`)
	case r.URL.Path == "/ucwa/oauth/v1/applications" && r.Method == http.MethodPost:
		w.Header().Set("Etag", `"1234"`)
		w.Header().Set("Set-Cookie", "cwt_ucwa=AAEBHAAFAAAAAAAFFQAAAPHOTO; path=/ucwa/oauth/v1/applications/105/photos; secure; HttpOnly")
		writeJSON(w, 201, f.application())
	case r.URL.Path == appBase && r.Method == http.MethodGet:
		writeJSON(w, 200, f.application())
	case r.URL.Path == appBase+"/me" && r.Method == http.MethodGet:
		writeJSON(w, 200, f.me())
	case r.URL.Path == appBase+"/people" && r.Method == http.MethodGet:
		writeJSON(w, 200, peopleJSON)
	case r.URL.Path == appBase+"/communication" && r.Method == http.MethodGet:
		writeJSON(w, 200, communicationJSON)
	case r.URL.Path == appBase+"/me/makeMeAvailable" && r.Method == http.MethodPost:
		f.mu.Lock()
		f.available = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == appBase+"/me/reportMyActivity" && r.Method == http.MethodPost:
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == appBase+"/communication/messagingInvitations" && r.Method == http.MethodPost:
		w.Header().Set("Location", appBase+"/communication/messagingInvitations/60c6490148e84972a18ac13d601f29ec")
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path == appBase+"/people/contacts":
		writeJSON(w, 200, `{"rel":"myContacts","_links":{"self":{"href":"`+appBase+`/people/contacts"},"contact":[{"href":"`+appBase+`/people/alex@contoso.com"}]},
  "_embedded":{"contact":[{"rel":"contact","name":"Alex Doe","uri":"sip:alex@contoso.com","emailAddresses":["alex@contoso.com"],"type":"User","sourceNetwork":"SameEnterprise",
   "_links":{"self":{"href":"`+appBase+`/people/alex@contoso.com"},"contactPresence":{"href":"`+appBase+`/people/alex@contoso.com/presence"}}}]}}`)
	case r.URL.Path == appBase+"/people/presenceSubscriptions" && r.Method == http.MethodPost:
		w.Header().Set("Location", appBase+"/people/presenceSubscriptions/1")
		writeJSON(w, 201, `{"id":"1","duration":15,"rel":"presenceSubscription","_links":{"self":{"href":"`+appBase+`/people/presenceSubscriptions/1"}}}`)
	default:
		writeJSON(w, 404, `{"code":"NotFound","message":"no fixture for `+r.Method+` `+r.URL.Path+`"}`)
	}
}

func (f *fixture) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{Username: "lenea@contoso.com", Password: "pass@word1", DiscoveryURL: f.srv.URL + "/", AllowInsecureHTTP: true,
		AllowPrivateAddresses: true, EndpointID: "a917c6f4-976c-4cf3-847d-cdfffa28ccdf", RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wireCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestApplicationResourcesEmbeddedOrLinked signs in through the documented
// challenge (quoted and unquoted MsRtcOAuth href), creates the application
// and uses me, communication and people whether the application embeds
// them (§3.1) or only links them.
func TestApplicationResourcesEmbeddedOrLinked(t *testing.T) {
	challenges := map[string]string{
		"quoted":   `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"`,
		"unquoted": `MsRtcOAuth href=%s/WebTicket/oauthtoken,grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"`,
	}
	for _, embedded := range []bool{true, false} {
		for cname, challenge := range challenges {
			name := cname + "/linked"
			if embedded {
				name = cname + "/embedded"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, embedded, challenge)
				c := f.client(t)
				ctx := wireCtx(t)
				if err := c.SignIn(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := c.CreateApplication(ctx); err != nil {
					t.Fatal(err)
				}
				if got := c.State().EventsURL; got != f.srv.URL+appBase+"/events?ack=1" {
					t.Fatalf("events URL %s", got)
				}
				me, err := c.Me(ctx)
				if err != nil || me.URI != "sip:lenea@contoso.com" || me.Name != "Lene Aaling" {
					t.Fatalf("me %+v %v", me, err)
				}
				if err := c.MakeMeAvailable(ctx, AvailabilityOptions{}); err != nil {
					t.Fatal(err)
				}
				mma, ok := f.find(http.MethodPost, appBase+"/me/makeMeAvailable")
				var body map[string]any
				if !ok || json.Unmarshal([]byte(mma.Body), &body) != nil || body["signInAs"] != "Online" || body["supportedModalities"] == nil {
					t.Fatalf("makeMeAvailable %+v", mma)
				}
				loc, err := c.StartMessaging(ctx, StartMessagingRequest{To: "sip:alex@contoso.com", Subject: "Task Sample", Importance: "Normal",
					OperationID: "5028e824-2268-4b14-9e59-1abad65ff393", Message: "Hello"})
				if err != nil || !strings.HasSuffix(loc, "/messagingInvitations/60c6490148e84972a18ac13d601f29ec") {
					t.Fatalf("start messaging %q %v", loc, err)
				}
				sm, _ := f.find(http.MethodPost, appBase+"/communication/messagingInvitations")
				var start struct {
					To    string `json:"to"`
					OpID  string `json:"operationId"`
					Links struct {
						Message Link `json:"message"`
					} `json:"_links"`
				}
				if json.Unmarshal([]byte(sm.Body), &start) != nil || start.To != "sip:alex@contoso.com" || start.Links.Message.Href != "data:text/plain;charset=utf-8,Hello" ||
					!strings.HasPrefix(sm.ContentType, "application/json") {
					t.Fatalf("startMessaging request %+v", sm)
				}
				contacts, err := c.Contacts(ctx)
				if err != nil || len(contacts) != 1 || contacts[0].URI != "sip:alex@contoso.com" {
					t.Fatalf("contacts %+v %v", contacts, err)
				}
				sub, err := c.SubscribePresence(ctx, []string{"sip:a@contoso.com", "sip:b@contoso.com"}, 0)
				if err != nil || sub != appBase+"/people/presenceSubscriptions/1" {
					t.Fatalf("presence subscription %q %v", sub, err)
				}
				ps, _ := f.find(http.MethodPost, appBase+"/people/presenceSubscriptions")
				if ps.Body != `{"duration":15,"uris":["sip:a@contoso.com","sip:b@contoso.com"]}` {
					t.Fatalf("presence subscription body %s", ps.Body)
				}
				for _, r := range f.requests() {
					if r.Accept != "application/json" {
						t.Fatalf("%s %s without Accept: application/json", r.Method, r.Path)
					}
					if strings.HasPrefix(r.Path, "/ucwa/") && r.Auth != "Bearer cwt=AAEBHAAFAAAAAAAFFQAAAA" {
						t.Fatalf("%s %s Authorization %q", r.Method, r.Path, r.Auth)
					}
				}
				tok, _ := f.find(http.MethodPost, "/WebTicket/oauthtoken")
				if tok.Body != "grant_type=password&password=pass%40word1&username=lenea%40contoso.com" || tok.ContentType != "application/x-www-form-urlencoded;charset=UTF-8" {
					t.Fatalf("token request %+v", tok)
				}
			})
		}
	}
}

// TestMessageEventWithAndWithoutEmbedded: the §5.1 incoming message event
// as documented, and the same event without _embedded, which a client
// reads from link.href.
func TestMessageEventWithAndWithoutEmbedded(t *testing.T) {
	const msgPath = "/ucwa/oauth/v1/applications/104/communication/conversations/eee0/messaging/messages/2"
	const message = `{"direction":"Incoming","timeStamp":"\/Date(1383784870271)\/",
     "_links":{"self":{"href":"` + msgPath + `"},
      "contact":{"href":"/ucwa/oauth/v1/applications/104/people/lenea@contoso.com"},
      "participant":{"href":"/ucwa/oauth/v1/applications/104/communication/conversations/eee0/participants/lenea@contoso.com","title":"Lene Aaling"},
      "messaging":{"href":"/ucwa/oauth/v1/applications/104/communication/conversations/eee0/messaging"},
      "plainMessage":{"href":"data:text/plain;charset=utf-8,Hi+Tosh%0d%0a"}},
     "rel":"message"}`
	batch := func(embedded bool) string {
		emb := ""
		if embedded {
			emb = `"_embedded":{"message":` + message + `},`
		}
		return `{"_links":{"self":{"href":"/ucwa/oauth/v1/applications/104/events?ack=6"},
           "next":{"href":"/ucwa/oauth/v1/applications/104/events?ack=7"}},
 "sender":[{"rel":"conversation","href":"/ucwa/oauth/v1/applications/104/communication/conversations/eee0",
  "events":[{"link":{"rel":"message","href":"` + msgPath + `"},"status":"Success",` + emb + `"type":"completed"}]}]}`
	}
	for _, embedded := range []bool{true, false} {
		f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
		f.routes["GET "+msgPath] = func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, message) }
		c := f.client(t)
		ctx := wireCtx(t)
		if err := c.SignIn(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := ParseEventBatch([]byte(batch(embedded)))
		if err != nil {
			t.Fatal(err)
		}
		ev := b.All()[0].Event
		m, err := c.EventMessage(ctx, ev)
		if err != nil {
			t.Fatalf("embedded=%v: %v", embedded, err)
		}
		body, err := m.Body()
		if err != nil || body.Plain != "Hi Tosh" || m.Direction != DirectionIncoming || m.TimeStamp.UnixMilli() != 1383784870271 ||
			m.Links.Href("participant") == "" {
			t.Fatalf("embedded=%v: message %+v body %+v %v", embedded, m, body, err)
		}
		_, fetched := f.find(http.MethodGet, msgPath)
		if fetched == embedded {
			t.Fatalf("embedded=%v: message fetched = %v", embedded, fetched)
		}
	}
}

// TestErrorBodyVariants: §11's error object with every optional member,
// with only code, with a non-object debugInfo, and bodies that are no
// UCWA error at all.
func TestErrorBodyVariants(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		code     string
		subcode  string
		check    func(error) bool
		retryMin time.Duration
	}{
		{name: "full", status: 409, body: `{"code":"Conflict","subcode":"AlreadyExists","message":"The resource already exists.","debugInfo":{"diagnostics":"2; reason=x","errorReportId":"da00fd10"},"parameters":{"name":"x"},"link":{"rel":"self","href":"/x"}}`,
			code: "Conflict", subcode: "AlreadyExists", check: IsAlreadyExists},
		{name: "code only", status: 404, body: `{"code":"NotFound"}`, code: "NotFound", check: IsNotFound},
		{name: "debugInfo as a string", status: 404, body: `{"code":"NotFound","subcode":"ApplicationNotFound","message":"gone","debugInfo":"errorReportId=1"}`,
			code: "NotFound", subcode: "ApplicationNotFound", check: IsApplicationGone},
		{name: "pget replaced", status: 409, body: `{"code":"Conflict","subcode":"PGetReplaced","message":"replaced"}`, code: "Conflict", subcode: "PGetReplaced", check: IsPGetReplaced},
		{name: "gone expired", status: 410, body: `{"code":"Gone","subcode":"InactiveApplicationExpired"}`, code: "Gone", subcode: "InactiveApplicationExpired", check: IsApplicationGone},
		{name: "lurker", status: 409, body: `{"code":"Conflict","subcode":"MakeMeAvailableRequired"}`, code: "Conflict", subcode: "MakeMeAvailableRequired", check: IsMakeMeAvailableRequired},
		{name: "throttled with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"code":"TooManyRequests"}`, code: "TooManyRequests", check: IsTransient, retryMin: 7 * time.Second},
		{name: "html 503", status: 503, body: `<html>Service Unavailable</html>`, check: IsTransient},
		{name: "empty 504", status: 504, check: IsTransient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
			f.routes["GET /fail"] = func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				writeJSON(w, tc.status, tc.body)
			}
			c := f.client(t)
			ctx := wireCtx(t)
			if err := c.SignIn(ctx); err != nil {
				t.Fatal(err)
			}
			err := c.GetJSON(ctx, "/fail", &struct{}{})
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Code != tc.code || e.Subcode != tc.subcode || !tc.check(err) {
				t.Fatalf("got %#v (%v)", e, err)
			}
			if e.RetryAfter < tc.retryMin {
				t.Fatalf("Retry-After %v, want %v", e.RetryAfter, tc.retryMin)
			}
		})
	}
}

// TestDiscoveryRedirectToAnotherDomainFails: §2.1 counts an HTTP redirect
// of the root to another domain as a failed lookup; one inside the domain
// (http → https, another path) is followed.
func TestDiscoveryRedirectToAnotherDomainFails(t *testing.T) {
	target := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
	other := strings.Replace(target.srv.URL, "127.0.0.1", "localhost", 1) + "/"
	for _, tc := range []struct {
		name, to, user string
		ok             bool
	}{
		{"same host", target.srv.URL + "/", "lenea@contoso.com", true},
		{"another domain", other, "lenea@contoso.com", false},
		{"the user's SIP domain", other, "lenea@localhost", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := httptest.NewServer(http.RedirectHandler(tc.to, http.StatusFound))
			t.Cleanup(root.Close)
			if tc.name == "same host" {
				// Same host: the redirect stays on the root server's host name.
				root.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/" {
						http.Redirect(w, r, "/moved", http.StatusFound)
						return
					}
					base := "http://" + r.Host
					writeJSON(w, 200, `{"_links":{"user":{"href":"`+base+`/Autodiscover/AutodiscoverService.svc/root/oauth/user"}}}`)
				})
			}
			c, err := New(Config{Username: tc.user, Password: "pw", DiscoveryURL: root.URL + "/", AllowInsecureHTTP: true, AllowPrivateAddresses: true, EndpointID: "a917c6f4-976c-4cf3-847d-cdfffa28ccdf", RequestTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			user, err := c.discover(wireCtx(t))
			if tc.ok != (err == nil) {
				t.Fatalf("discover = %q, %v", user, err)
			}
			if !tc.ok && !errors.Is(err, ErrDiscoveryFailed) {
				t.Fatalf("error %v is no ErrDiscoveryFailed", err)
			}
		})
	}
}

// TestCachedUserURLRediscoveredAfter403Or502: discovered URLs are cached
// until a 403 or 502 (§2.1); then autodiscovery runs again.
func TestCachedUserURLRediscoveredAfter403Or502(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusBadGateway} {
		f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
		f.routes["GET /old-pool/user"] = func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, status, `{"code":"Forbidden"}`)
		}
		c := f.client(t)
		resumed, err := c.Resume(wireCtx(t), State{UserURL: f.srv.URL + "/old-pool/user", EndpointID: "a917c6f4-976c-4cf3-847d-cdfffa28ccdf"})
		if err != nil || resumed {
			t.Fatalf("%d: resume = %v, %v", status, resumed, err)
		}
		if st := c.State(); st.UserURL != f.srv.URL+"/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com" || st.ApplicationHref == "" {
			t.Fatalf("%d: state after rediscovery %+v", status, st)
		}
		if _, ok := f.find(http.MethodGet, "/"); !ok {
			t.Fatalf("%d: no autodiscovery request", status)
		}
	}
	// A 404 is no reason to rediscover.
	f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
	c := f.client(t)
	if _, err := c.Resume(wireCtx(t), State{UserURL: f.srv.URL + "/old-pool/user", EndpointID: "a917c6f4-976c-4cf3-847d-cdfffa28ccdf"}); !IsNotFound(err) {
		t.Fatalf("404: %v", err)
	}
	if _, ok := f.find(http.MethodGet, "/"); ok {
		t.Fatal("404 triggered autodiscovery")
	}
}

// TestPhotoSendsApplicationCookie: the application creation sets a
// cwt_ucwa cookie for its photos path (§3.1); photo GETs under that path
// carry it, other GETs do not.
func TestPhotoSendsApplicationCookie(t *testing.T) {
	f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
	var cookies []string
	photo := func(w http.ResponseWriter, r *http.Request) {
		cookies = append(cookies, r.Header.Get("Cookie"))
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write([]byte("\xff\xd8\xff jpeg"))
	}
	f.routes["GET "+appBase+"/photos/lenea@contoso.com"] = photo
	f.routes["GET "+appBase+"/people/alex@contoso.com/photo"] = photo
	c := f.client(t)
	ctx := wireCtx(t)
	if err := c.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateApplication(ctx); err != nil {
		t.Fatal(err)
	}
	data, ct, err := c.Photo(ctx, appBase+"/photos/lenea@contoso.com")
	if err != nil || ct != "image/jpeg" || len(data) == 0 {
		t.Fatalf("photo %q %q %v", data, ct, err)
	}
	if _, _, err := c.Photo(ctx, appBase+"/people/alex@contoso.com/photo"); err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 2 || cookies[0] != "cwt_ucwa=AAEBHAAFAAAAAAAFFQAAAPHOTO" || cookies[1] != "" {
		t.Fatalf("cookies sent %q", cookies)
	}
}

// TestEventStatusSpellings: real events say Success/Failure, the Status
// reference page Succeeded/Failed; both reach callers as StatusSuccess and
// StatusFailure, and other values (Pending) pass unchanged.
func TestEventStatusSpellings(t *testing.T) {
	for in, want := range map[string]string{"Success": StatusSuccess, "Succeeded": StatusSuccess, "Failure": StatusFailure,
		"Failed": StatusFailure, "failure": StatusFailure, "Pending": "Pending", "": ""} {
		raw := `{"_links":{"next":{"href":"/n"}},"sender":[{"rel":"communication","href":"/c","events":[{"type":"completed","status":"` + in + `",
		 "link":{"rel":"messagingInvitation","href":"/c/messagingInvitations/1"}}]}]}`
		b, err := ParseEventBatch([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.All()[0].Event.Status; got != want {
			t.Errorf("status %q read as %q, want %q", in, got, want)
		}
	}
}

// TestEventBatchShapes: the §4.2 envelope and its variants: several
// senders (one repeated), an empty timeout answer with or without sender,
// a bare object where a one-element list is expected, resume and resync.
func TestEventBatchShapes(t *testing.T) {
	const ev = `{"type":"added","link":{"rel":"participant","href":"/ucwa/oauth/v1/applications/104/communication/conversations/eee0/participants/lenea@contoso.com","title":"Lene Aaling"}}`
	const comm = `{"rel":"communication","href":"/ucwa/oauth/v1/applications/104/communication","events":[{"type":"updated","link":{"rel":"communication","href":"/ucwa/oauth/v1/applications/104/communication"}}]}`
	next := `"_links":{"self":{"href":"/ucwa/oauth/v1/applications/104/events?ack=2"},"next":{"href":"/ucwa/oauth/v1/applications/104/events?ack=3"}}`
	cases := []struct {
		name, body    string
		events        int
		next, resume  string
		resync        string
		senderHrefs   []string
		wantSkipCount int
	}{
		{name: "senders in order, one repeated", body: `{` + next + `,"sender":[` + comm + `,{"rel":"conversation","href":"/c/eee0","events":[` + ev + `]},` + comm + `]}`,
			events: 3, next: "/ucwa/oauth/v1/applications/104/events?ack=3", senderHrefs: []string{"/ucwa/oauth/v1/applications/104/communication", "/c/eee0", "/ucwa/oauth/v1/applications/104/communication"}},
		{name: "timeout without sender", body: `{` + next + `}`, next: "/ucwa/oauth/v1/applications/104/events?ack=3"},
		{name: "timeout with empty sender", body: `{` + next + `,"sender":[]}`, next: "/ucwa/oauth/v1/applications/104/events?ack=3"},
		{name: "sender as a bare object", body: `{` + next + `,"sender":` + comm + `}`, events: 1, next: "/ucwa/oauth/v1/applications/104/events?ack=3",
			senderHrefs: []string{"/ucwa/oauth/v1/applications/104/communication"}},
		{name: "events as a bare object", body: `{` + next + `,"sender":[{"rel":"conversation","href":"/c/eee0","events":` + ev + `}]}`, events: 1,
			next: "/ucwa/oauth/v1/applications/104/events?ack=3", senderHrefs: []string{"/c/eee0"}},
		{name: "resume instead of next", body: `{"_links":{"self":{"href":"/e?ack=9"},"resume":{"href":"/e?ack=10"}},"sender":[` + comm + `]}`, events: 1, resume: "/e?ack=10",
			senderHrefs: []string{"/ucwa/oauth/v1/applications/104/communication"}},
		{name: "resync alone", body: `{"_links":{"resync":{"href":"/e?ack=4"}}}`, resync: "/e?ack=4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseEventBatch([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if b.Len() != tc.events || len(b.Skipped) != tc.wantSkipCount {
				t.Fatalf("%d events, %d skipped (%+v)", b.Len(), len(b.Skipped), b.Skipped)
			}
			if b.Links.Href("next") != tc.next || b.Links.Href("resume") != tc.resume || b.Links.Href("resync") != tc.resync {
				t.Fatalf("links %+v", b.Links)
			}
			var hrefs []string
			for _, s := range b.Senders {
				hrefs = append(hrefs, s.Href)
			}
			if strings.Join(hrefs, " ") != strings.Join(tc.senderHrefs, " ") {
				t.Fatalf("senders %v, want %v", hrefs, tc.senderHrefs)
			}
		})
	}
}

// TestReportMyActivityRestoresLostAvailability: a server that dropped the
// application back into lurker mode answers reportMyActivity with 409
// MakeMeAvailableRequired (§3.3) or no longer links it; an application
// that was available becomes available again instead of staying deaf to
// invitations.
func TestReportMyActivityRestoresLostAvailability(t *testing.T) {
	f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
	c := f.client(t)
	ctx := wireCtx(t)
	if err := c.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateApplication(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeMeAvailable(ctx, AvailabilityOptions{SignInAs: "Busy"}); err != nil {
		t.Fatal(err)
	}
	count := func(path string) int {
		n := 0
		for _, r := range f.requests() {
			if r.Method == http.MethodPost && r.Path == path {
				n++
			}
		}
		return n
	}
	// The server forgets the availability: 409 on the next report.
	f.mu.Lock()
	reports := 0
	f.routes["POST "+appBase+"/me/reportMyActivity"] = func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		reports++
		lost := reports == 1
		if lost {
			f.available = false
		}
		f.mu.Unlock()
		if lost {
			writeJSON(w, 409, `{"code":"Conflict","subcode":"MakeMeAvailableRequired","message":"Call makeMeAvailable first."}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	f.mu.Unlock()
	if err := c.ReportMyActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(appBase + "/me/makeMeAvailable"); got != 2 {
		t.Fatalf("makeMeAvailable called %d times, want again after the 409", got)
	}
	mma, _ := f.find(http.MethodPost, appBase+"/me/makeMeAvailable")
	if !strings.Contains(mma.Body, `"signInAs":"Busy"`) {
		t.Fatalf("availability options not kept: %s", mma.Body)
	}
	// Setting presence in lurker mode: 409, availability restored, set.
	f.mu.Lock()
	f.available = false
	f.routes["POST "+appBase+"/me/presence"] = func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		available := f.available
		f.mu.Unlock()
		if !available {
			writeJSON(w, 409, `{"code":"Conflict","subcode":"MakeMeAvailableRequired"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	f.mu.Unlock()
	if err := c.SetPresence(ctx, "Away"); err != nil {
		t.Fatal(err)
	}
	if got := count(appBase + "/me/makeMeAvailable"); got != 3 {
		t.Fatalf("makeMeAvailable called %d times, want once more for the presence", got)
	}
	if got := count(appBase + "/me/presence"); got != 2 {
		t.Fatalf("presence posted %d times, want the refused one and the retry", got)
	}
}

// TestCreateApplicationAnswerForms: 201 with the application as body
// (§3.1), 200 for an application that already exists, and a 201 that
// only names the new application in its Location.
func TestCreateApplicationAnswerForms(t *testing.T) {
	for _, form := range []string{"201 body", "200 body", "201 Location only"} {
		t.Run(form, func(t *testing.T) {
			f := newFixture(t, true, `MsRtcOAuth href="%s/WebTicket/oauthtoken",grant_type="password"`)
			f.routes["POST /ucwa/oauth/v1/applications"] = func(w http.ResponseWriter, _ *http.Request) {
				switch form {
				case "201 body":
					writeJSON(w, 201, f.application())
				case "200 body":
					writeJSON(w, 200, f.application())
				default:
					w.Header().Set("Location", appBase)
					w.WriteHeader(http.StatusCreated)
				}
			}
			c := f.client(t)
			ctx := wireCtx(t)
			if err := c.SignIn(ctx); err != nil {
				t.Fatal(err)
			}
			app, err := c.CreateApplication(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if app.Self() != appBase || c.State().ApplicationHref != f.srv.URL+appBase || c.State().EventsURL != f.srv.URL+appBase+"/events?ack=1" {
				t.Fatalf("application %+v state %+v", app.Links, c.State())
			}
			post, _ := f.find(http.MethodPost, "/ucwa/oauth/v1/applications")
			var body map[string]string
			if json.Unmarshal([]byte(post.Body), &body) != nil || body["endpointId"] != "a917c6f4-976c-4cf3-847d-cdfffa28ccdf" || body["userAgent"] == "" || body["culture"] != "en-US" {
				t.Fatalf("create body %s", post.Body)
			}
		})
	}
}
