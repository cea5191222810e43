package ucwaemu

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestPeopleEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	for _, contact := range []string{"bob@contoso.com", "carol@contoso.com"} {
		if err := e.emu.AddContact("alice@contoso.com", contact); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.emu.SetUserDetails("bob@contoso.com", "Engineer", "R&D"); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetPresence("bob@contoso.com", "Busy"); err != nil {
		t.Fatal(err)
	}
	c := e.available("alice@contoso.com", "alice-pw")
	people := dig(c.app, "_embedded", "people", "_links").(map[string]any)

	contacts := c.do(http.MethodGet, dig(people, "myContacts", "href").(string), "", nil).json(t)
	list := dig(contacts, "_embedded", "contact").([]any)
	if len(list) != 2 || dig(list[0], "name") != "Bob Example" || dig(list[0], "title") != "Engineer" || dig(list[0], "uri") != "sip:bob@contoso.com" {
		t.Fatalf("contacts %v", contacts)
	}
	pres := c.do(http.MethodGet, dig(list[0], "_links", "contactPresence", "href").(string), "", nil).json(t)
	if pres["availability"] != "Busy" || pres["rel"] != "contactPresence" {
		t.Fatalf("presence %v", pres)
	}
	// A UCWA user shows the presence of its application.
	alice := c.do(http.MethodGet, "/ucwa/oauth/v1/applications/"+c.appID+"/people/alice@contoso.com/presence", "", nil).json(t)
	if alice["availability"] != "Online" {
		t.Fatalf("own contact presence %v", alice)
	}

	search := c.do(http.MethodGet, dig(people, "search", "href").(string)+"?query=carol", "", nil).json(t)
	if found := dig(search, "_embedded", "contact").([]any); len(found) != 1 || dig(found[0], "name") != "Carol Example" {
		t.Fatalf("search %v", search)
	}
	limited := c.do(http.MethodGet, dig(people, "search", "href").(string)+"?query=example&limit=1", "", nil).json(t)
	if limited["moreResultsAvailable"] != true {
		t.Fatalf("limited search %v", limited)
	}
	if r := c.do(http.MethodGet, dig(people, "search", "href").(string), "", nil); r.status != http.StatusBadRequest {
		t.Fatalf("search without query: %d", r.status)
	}
	if r := c.do(http.MethodGet, "/ucwa/oauth/v1/applications/"+c.appID+"/people/nobody@contoso.com", "", nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown contact: %d", r.status)
	}

	photoHref := dig(list[0], "_links", "contactPhoto", "href").(string)
	r := c.do(http.MethodGet, photoHref, "", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("photo: %d %v", r.status, r.header)
	}
	if _, err := png.Decode(bytes.NewReader(r.body)); err != nil {
		t.Fatalf("photo is not a PNG: %v", err)
	}
	if err := e.emu.SetPhoto("bob@contoso.com", []byte("GIF89a"), "image/gif"); err != nil {
		t.Fatal(err)
	}
	if r := c.do(http.MethodGet, photoHref, "", nil); string(r.body) != "GIF89a" || r.header.Get("Content-Type") != "image/gif" {
		t.Fatalf("replaced photo: %q", r.body)
	}
	anon := &raw{t: t, base: e.srv.URL}
	if r := anon.do(http.MethodGet, photoHref, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("photo without credentials: %d", r.status)
	}
}

func TestOtherUsersApplicationIsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	if err := e.emu.AddUser("mallory@contoso.com", "Mallory", "m-pw"); err != nil {
		t.Fatal(err)
	}
	alice := e.login("alice@contoso.com", "alice-pw")
	mallory := e.login("mallory@contoso.com", "m-pw")
	if r := mallory.do(http.MethodGet, alice.events, "", nil); r.status != http.StatusForbidden {
		t.Fatalf("cross-user poll: %d", r.status)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	e.emu.InjectFault(Fault{PathContains: "/events", Status: http.StatusTooManyRequests, RetryAfter: "7", Count: 2})
	for range 2 {
		r := c.do(http.MethodGet, c.events, "", nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "7" || r.json(t)["code"] != "TooManyRequests" {
			t.Fatalf("throttled: %d %v %s", r.status, r.header, r.body)
		}
	}
	if e.emu.PendingFaults() != 0 {
		t.Fatal("fault not consumed")
	}

	// A dropped poll still numbers the batch, so repeating the URL gets it.
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "dropped?"); err != nil {
		t.Fatal(err)
	}
	e.emu.InjectFault(Fault{Method: http.MethodGet, PathContains: "/events", Drop: true})
	// net/http silently retries idempotent requests that fail on a reused
	// connection; a fresh connection makes the drop visible.
	http.DefaultClient.CloseIdleConnections()
	if r := c.do(http.MethodGet, c.events, "", nil); r.status != -1 {
		t.Fatalf("dropped poll answered: %d", r.status)
	}
	b := c.poll()
	if _, ok := find(events(b), "messagingInvitation", "started"); !ok {
		t.Fatalf("batch lost after drop: %v", summary(events(b)))
	}

	e.emu.InjectFault(Fault{PathContains: "/me", Delay: 20 * time.Millisecond, Status: http.StatusServiceUnavailable})
	if r := c.do(http.MethodGet, c.meLink("self"), "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("delayed 503: %d", r.status)
	}
	e.emu.InjectFault(Fault{PathContains: "/me", Delay: 10 * time.Millisecond})
	if r := c.do(http.MethodGet, c.meLink("self"), "", nil); r.status != http.StatusOK {
		t.Fatalf("delayed success: %d", r.status)
	}
}

func TestDropWorksOverTLS(t *testing.T) {
	t.Parallel()
	emu := New(Options{Clock: NewFakeClock(epoch)})
	srv := httptest.NewTLSServer(emu)
	defer srv.Close()
	defer emu.Close()
	emu.InjectFault(Fault{Drop: true})
	if _, err := srv.Client().Get(srv.URL + "/"); err == nil {
		t.Fatal("dropped request succeeded")
	}
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("root over TLS: %d", resp.StatusCode)
	}
}

func TestReplaySeed002(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.login("alice@contoso.com", "alice-pw")
	if err := e.emu.ReplaySeed002(c.appID); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.ReplaySeed002("nope"); err == nil {
		t.Fatal("replay into a missing application")
	}
	var batches [][]ev
	for range SeedBatches {
		batches = append(batches, events(c.poll()))
	}
	want := [][]string{
		{"me:me/updated", "me:presence/added", "me:note/added", "me:location/added", "communication:communication/updated"},
		{"communication:messagingInvitation/started", "communication:conversation/added", "conversation:localParticipant/added"},
		{"conversation:participant/added"},
		{"communication:messagingInvitation/completed"},
		{"conversation:messaging/updated", "conversation:localParticipant/deleted", "communication:conversation/deleted"},
	}
	for i := range want {
		if got := strings.Join(summary(batches[i]), ","); got != strings.Join(want[i], ",") {
			t.Fatalf("batch %d: %s", i+1, got)
		}
	}
	inv := dig(batches[1][0].raw, "_embedded", "messagingInvitation").(map[string]any)
	if dig(inv, "_embedded", "from", "name") != SeedPeerName ||
		dig(inv, "_links", "message", "href") != "data:text/plain;charset=utf-8,Hello..+This+is+Sandeep+Here.." ||
		!strings.HasPrefix(dig(inv, "_links", "accept", "href").(string), "/ucwa/oauth/v1/applications/"+c.appID+"/") {
		t.Fatalf("replayed invitation %v", inv)
	}
	local := dig(batches[1][2].raw, "_embedded", "localParticipant").(map[string]any)
	if local["uri"] != "sip:alice@contoso.com" || local["name"] != "Alice Example" {
		t.Fatalf("local participant not rewritten: %v", local)
	}
	if dig(batches[3][0].raw, "reason", "subcode") != "Declined" {
		t.Fatalf("declined part %v", batches[3][0].raw)
	}
	contact := c.do(http.MethodGet, dig(inv, "_embedded", "from", "_links", "contact", "href").(string), "", nil)
	if contact.status != http.StatusOK || contact.json(t)["name"] != SeedPeerName {
		t.Fatalf("seed peer contact: %d %s", contact.status, contact.body)
	}
}

func TestAutoReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	if err := e.emu.Peer("bob@contoso.com").SetAutoReply(func(s string) string { return "echo: " + s }); err != nil {
		t.Fatal(err)
	}
	c.postJSON(c.commLink("startMessaging"), map[string]any{"to": "sip:bob@contoso.com",
		"_links": map[string]any{"message": map[string]string{"href": "data:text/plain;charset=utf-8,ping"}}})
	evs := c.pollUntil("message", "completed")
	msg, _ := find(evs, "message", "completed")
	if dig(msg.raw, "_embedded", "message", "_links", "plainMessage", "href") != "data:text/plain;charset=utf-8,echo%3A+ping" {
		t.Fatalf("echo %v", msg.raw)
	}
	got, err := e.emu.WaitReceived(ctxT(t), "alice@contoso.com", 1)
	if err != nil || got[0].Text != "echo: ping" {
		t.Fatalf("alice received %+v %v", got, err)
	}
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.emu.WaitReceived(short, "alice@contoso.com", 5); err == nil {
		t.Fatal("WaitReceived ignored its context")
	}
}

func TestCloseReleasesParkedPolls(t *testing.T) {
	baseline := runtime.NumGoroutine()
	emu := New(Options{})
	srv := httptest.NewServer(emu)
	if err := emu.AddUser("alice@contoso.com", "Alice", "pw"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, emu: emu, srv: srv}
	c := e.available("alice@contoso.com", "pw")
	done := make(chan reply, 1)
	go func() { done <- c.doCtx(context.Background(), http.MethodGet, c.events, "", nil) }()
	waitParked(t, e, "alice@contoso.com")
	emu.Close()
	if r := <-done; r.status != http.StatusServiceUnavailable {
		t.Fatalf("parked poll on close: %d", r.status)
	}
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	// Goroutines wind down asynchronously; wait for them rather than time them.
	ctx := ctxT(t)
	for runtime.NumGoroutine() > baseline {
		select {
		case <-ctx.Done():
			t.Fatalf("goroutines leaked: %d > %d", runtime.NumGoroutine(), baseline)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestFakeClockOrdersTimers(t *testing.T) {
	t.Parallel()
	clock := NewFakeClock(epoch)
	var order []string
	clock.AfterFunc(2*time.Second, func() { order = append(order, "b") })
	stopped := clock.AfterFunc(time.Second, func() { order = append(order, "never") })
	clock.AfterFunc(time.Second, func() {
		order = append(order, "a@"+clock.Now().Sub(epoch).String())
		clock.AfterFunc(500*time.Millisecond, func() { order = append(order, "nested") })
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should report pending once")
	}
	clock.Advance(3 * time.Second)
	if got := strings.Join(order, ","); got != "a@1s,nested,b" {
		t.Fatalf("order %s", got)
	}
	if clock.Now() != epoch.Add(3*time.Second) || clock.Pending() != 0 {
		t.Fatalf("now %v pending %d", clock.Now(), clock.Pending())
	}
}

func TestDirectoryValidation(t *testing.T) {
	t.Parallel()
	emu := New(Options{})
	defer emu.Close()
	for _, bad := range []string{"", "alice", "sip:@x", "a b@c"} {
		if err := emu.AddUser(bad, "x", "y"); err == nil {
			t.Fatalf("AddUser(%q) accepted", bad)
		}
	}
	if err := emu.AddUser("a@x", "A", ""); err != nil {
		t.Fatal(err)
	}
	if err := emu.AddUser("sip:A@X", "A", ""); err == nil {
		t.Fatal("duplicate user accepted")
	}
	if _, err := emu.Peer("a@x").SendIM("ghost@x", "hi"); err == nil {
		t.Fatal("message to unknown user")
	}
	if _, err := emu.Peer("a@x").SendIM("a@x", "hi"); err == nil {
		t.Fatal("message to self")
	}
	if err := emu.Peer("a@x").Say("no-thread", "hi"); err == nil {
		t.Fatal("say in unknown thread")
	}
	if err := emu.AddContact("a@x", "ghost@x"); err == nil {
		t.Fatal("unknown contact accepted")
	}
}
