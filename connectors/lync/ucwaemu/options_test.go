package ucwaemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The application can be answered with only a Location and can link its
// me, people, onlineMeetings and communication resources instead of
// embedding them; each link can be read.
func TestApplicationLocationOnlyAndLinkedResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{CreateApplicationLocationOnly: true, LinkApplicationResources: true})
	c := &raw{t: t, base: e.srv.URL}
	form := url.Values{"grant_type": {"password"}, "username": {"alice@contoso.com"}, "password": {"alice-pw"}}
	r := c.do(http.MethodPost, "/WebTicket/oauthtoken", "application/x-www-form-urlencoded", []byte(form.Encode()))
	c.token = r.json(t)["access_token"].(string)
	body := map[string]string{"userAgent": "test/1", "endpointId": "ep-1", "culture": "en-US"}
	for _, want := range []int{http.StatusCreated, http.StatusOK} {
		r = c.postJSON(appsPath, body)
		loc := r.header.Get("Location")
		if r.status != want || len(r.body) != 0 || !strings.HasPrefix(loc, appsPath+"/") {
			t.Fatalf("create application: %d, Location %q, body %q; want %d, a Location and no body", r.status, loc, r.body, want)
		}
		c.appID = loc[strings.LastIndex(loc, "/")+1:]
	}
	r = c.do(http.MethodGet, appsPath+"/"+c.appID, "", nil)
	app := r.json(t)
	if r.status != http.StatusOK || app["_embedded"] != nil {
		t.Fatalf("application: %d %s; want no _embedded", r.status, r.body)
	}
	wantRel := map[string]string{"me": "me", "people": "people", "onlineMeetings": "onlineMeetings", "communication": "communication"}
	for rel, resRel := range wantRel {
		href, _ := dig(app, "_links", rel, "href").(string)
		if href == "" {
			t.Fatalf("application has no %s link: %s", rel, r.body)
		}
		got := c.do(http.MethodGet, href, "", nil)
		if got.status != http.StatusOK || got.json(t)["rel"] != resRel {
			t.Fatalf("GET %s: %d %s", href, got.status, got.body)
		}
	}
	me := c.do(http.MethodGet, dig(app, "_links", "me", "href").(string), "", nil).json(t)
	if me["uri"] != "sip:alice@contoso.com" || dig(me, "_links", "makeMeAvailable", "href") == nil {
		t.Fatalf("me %v", me)
	}
	people := c.do(http.MethodGet, dig(app, "_links", "people", "href").(string), "", nil).json(t)
	if dig(people, "_links", "search", "href") == nil || dig(people, "_links", "myContacts", "href") == nil {
		t.Fatalf("people %v", people)
	}
}

// With OmitEventEmbedded "*" no event carries _embedded, and the link of
// every event the conversation sequence needs can be read instead.
func TestEventsWithoutEmbeddedAreReadableByLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{OmitEventEmbedded: []string{"*"}})
	c := e.available("alice@contoso.com", "alice-pw")
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "hello"); err != nil {
		t.Fatal(err)
	}
	before := c.pollUntil("participant", "added")
	inv, ok := find(before, "messagingInvitation", "started")
	if !ok {
		t.Fatalf("no invitation in %v", summary(before))
	}
	res := c.do(http.MethodGet, inv.href, "", nil).json(t)
	accept, _ := dig(res, "_links", "accept", "href").(string)
	if accept == "" || dig(res, "_embedded", "from", "uri") != "sip:bob@contoso.com" {
		t.Fatalf("invitation read from its link: %v", res)
	}
	if r := c.postJSON(accept, nil); r.status != http.StatusNoContent {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	after := c.pollUntil("message", "completed")
	readable := map[string]string{
		"messagingInvitation": "messagingInvitation", "conversation": "conversation", "messaging": "messaging",
		"participant": "participant", "localParticipant": "participant", "message": "message",
	}
	seen := map[string]bool{}
	for _, ev := range append(before, after...) {
		if ev.raw["_embedded"] != nil {
			t.Fatalf("%s %s event has _embedded: %v", ev.rel, ev.typ, ev.raw)
		}
		resRel, ok := readable[ev.rel]
		if !ok {
			continue
		}
		r := c.do(http.MethodGet, ev.href, "", nil)
		if r.status != http.StatusOK || r.json(t)["rel"] != resRel {
			t.Fatalf("GET %s (%s %s): %d %s", ev.href, ev.rel, ev.typ, r.status, r.body)
		}
		seen[ev.rel] = true
	}
	for rel := range readable {
		if !seen[rel] {
			t.Fatalf("no %s event in %v", rel, summary(append(before, after...)))
		}
	}
	msg, _ := find(after, "message", "completed")
	m := c.do(http.MethodGet, msg.href, "", nil).json(t)
	if m["direction"] != "Incoming" || dig(m, "_links", "plainMessage", "href") != "data:text/plain;charset=utf-8,hello" {
		t.Fatalf("message read from its link: %v", m)
	}
	conv := c.do(http.MethodGet, strings.TrimSuffix(messagingHref(t, after), "/messaging"), "", nil).json(t)
	if conv["state"] != "Connected" {
		t.Fatalf("conversation read from its link: %v", conv)
	}
}

// OmitEventEmbedded can name single rels; the others keep _embedded.
func TestEventsWithoutEmbeddedForOneRel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{OmitEventEmbedded: []string{"messaging"}})
	c := e.available("alice@contoso.com", "alice-pw")
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "hello"); err != nil {
		t.Fatal(err)
	}
	_, after := acceptIncoming(t, c)
	for _, ev := range after {
		switch ev.rel {
		case "messaging":
			if ev.raw["_embedded"] != nil {
				t.Fatalf("messaging event has _embedded: %v", ev.raw)
			}
		case "conversation", "message":
			if ev.raw["_embedded"] == nil {
				t.Fatalf("%s event lost its _embedded: %v", ev.rel, ev.raw)
			}
		}
	}
}

func messagingHref(t *testing.T, evs []ev) string {
	t.Helper()
	for _, e := range evs {
		if e.rel == "messaging" {
			return e.href
		}
	}
	t.Fatalf("no messaging event in %v", summary(evs))
	return ""
}

// A server that reads only one name of the sendMessage operation ID
// ignores the other and echoes nothing for it.
func TestOperationIDParamNamesTheOneRead(t *testing.T) {
	t.Parallel()
	for _, param := range []string{"operationId", "OperationContext"} {
		e := newEnv(t, Options{OperationIDParam: param})
		c := e.available("alice@contoso.com", "alice-pw")
		if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "hello"); err != nil {
			t.Fatal(err)
		}
		_, after := acceptIncoming(t, c)
		send := messagingLink(t, after, "sendMessage")
		other := map[string]string{"operationId": "OperationContext", "OperationContext": "operationId"}[param]
		for _, try := range []struct{ name, want string }{{param, "op-read"}, {other, ""}} {
			id := "op-read"
			r := c.do(http.MethodPost, send+"?"+try.name+"="+id, "text/plain", []byte("x"))
			if r.status != http.StatusCreated {
				t.Fatalf("sendMessage: %d %s", r.status, r.body)
			}
			out, _ := find(c.pollUntil("message", "completed"), "message", "completed")
			got, _ := dig(out.raw, "_embedded", "message", "operationId").(string)
			if got != try.want {
				t.Fatalf("server reading %s, sent as %s: echoed operationId %q, want %q", param, try.name, got, try.want)
			}
		}
	}
}

// OperationIDEcho "none" echoes no operation ID and "foreign" one the
// client never sent, in invitations and messages alike; what the client
// sent is still what the colleague's side recorded.
func TestOperationIDEcho(t *testing.T) {
	t.Parallel()
	for echo, want := range map[string]string{"": "op-1", "none": "", "foreign": recordedOperationID} {
		e := newEnv(t, Options{OperationIDEcho: echo})
		c := e.available("alice@contoso.com", "alice-pw")
		r := c.postJSON(c.commLink("startMessaging"), map[string]any{"to": "sip:bob@contoso.com", "operationId": "op-1",
			"_links": map[string]any{"message": map[string]string{"href": "data:text/plain;charset=utf-8,hi"}}})
		if r.status != http.StatusCreated {
			t.Fatalf("startMessaging: %d %s", r.status, r.body)
		}
		evs := c.pollUntil("messagingInvitation", "completed")
		done, _ := find(evs, "messagingInvitation", "completed")
		if got, _ := dig(done.raw, "_embedded", "messagingInvitation", "operationId").(string); got != want {
			t.Fatalf("echo %q: invitation operationId %q, want %q", echo, got, want)
		}
		if r := c.do(http.MethodPost, messagingLink(t, evs, "sendMessage")+"?operationId=op-1", "text/plain", []byte("x")); r.status != http.StatusCreated {
			t.Fatalf("sendMessage: %d %s", r.status, r.body)
		}
		out, _ := find(c.pollUntil("message", "completed"), "message", "completed")
		if got, _ := dig(out.raw, "_embedded", "message", "operationId").(string); got != want {
			t.Fatalf("echo %q: message operationId %q, want %q", echo, got, want)
		}
		if got := e.emu.Received("bob@contoso.com"); len(got) != 2 || got[0].OperationID != "op-1" || got[1].OperationID != "op-1" {
			t.Fatalf("echo %q: bob received %+v", echo, got)
		}
	}
}
