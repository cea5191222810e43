package ucwaemu

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCreateApplicationShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.login("alice@contoso.com", "alice-pw")
	if !strings.HasSuffix(c.events, "/events?ack=1") || !strings.HasPrefix(c.events, "/ucwa/oauth/v1/applications/") {
		t.Fatalf("events href %q should be relative with ack=1", c.events)
	}
	comm := dig(c.app, "_embedded", "communication").(map[string]any)
	magic := 0
	for k, v := range comm {
		if v == "please pass this in a PUT request" && len(k) == 36 {
			magic++
		}
	}
	if magic != 1 {
		t.Fatalf("communication lacks the GUID property: %v", comm)
	}
	if c.meLink("makeMeAvailable") == "" || dig(c.app, "_embedded", "me", "_links", "reportMyActivity") != nil {
		t.Fatal("lurker application must offer makeMeAvailable and no reportMyActivity")
	}

	// Property names are case-insensitive and the same endpoint gets the
	// same application back.
	r := c.postJSON(appsPath, map[string]string{"UserAgent": "test/1", "EndpointId": "ep-alice@contoso.com", "Culture": "en-US"})
	if r.status != http.StatusOK || dig(r.json(t), "_links", "self", "href") != dig(c.app, "_links", "self", "href") {
		t.Fatalf("same endpoint: %d %s", r.status, r.body)
	}
	r = c.postJSON(appsPath, map[string]string{"UserAgent": "test/1", "EndpointId": "other", "Culture": "en-US"})
	if r.status != http.StatusCreated {
		t.Fatalf("second endpoint: %d", r.status)
	}
	cookie := r.header.Get("Set-Cookie")
	if !strings.Contains(cookie, "cwt_ucwa=") || !strings.Contains(cookie, "/photos") || !strings.Contains(cookie, "HttpOnly") {
		t.Fatalf("Set-Cookie %q", cookie)
	}
	if r := c.postJSON(appsPath, map[string]string{"userAgent": "x"}); r.status != http.StatusBadRequest {
		t.Fatalf("missing fields: %d", r.status)
	}
	if got := len(e.emu.Applications("alice@contoso.com")); got != 2 {
		t.Fatalf("%d applications, want 2", got)
	}

	if r := c.do(http.MethodDelete, "/ucwa/oauth/v1/applications/"+c.appID, "", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.status)
	}
	r = c.do(http.MethodGet, "/ucwa/oauth/v1/applications/"+c.appID, "", nil)
	if r.status != http.StatusNotFound || r.json(t)["subcode"] != "ApplicationNotFound" {
		t.Fatalf("deleted application: %d %s", r.status, r.body)
	}
}

func TestMakeMeAvailableAndActivity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.login("alice@contoso.com", "alice-pw")
	if r := c.postJSON("/ucwa/oauth/v1/applications/"+c.appID+"/me/reportMyActivity", nil); r.status != http.StatusConflict || r.json(t)["subcode"] != "MakeMeAvailableRequired" {
		t.Fatalf("activity before makeMeAvailable: %d %s", r.status, r.body)
	}
	mma := c.meLink("makeMeAvailable")
	if r := c.postJSON(mma, map[string]any{"SupportedModalities": []string{"Messaging"}}); r.status != http.StatusNoContent {
		t.Fatalf("makeMeAvailable: %d %s", r.status, r.body)
	}
	if r := c.postJSON(mma, map[string]any{"SupportedModalities": []string{"Messaging"}}); r.status != http.StatusConflict || r.json(t)["subcode"] != "AlreadyExists" {
		t.Fatalf("repeat makeMeAvailable: %d %s", r.status, r.body)
	}
	evs := events(c.poll())
	for _, want := range []string{"me:me/updated", "me:presence/added", "me:note/added", "me:location/added", "communication:communication/updated"} {
		found := false
		for _, s := range summary(evs) {
			found = found || s == want
		}
		if !found {
			t.Fatalf("missing %s in %v", want, summary(evs))
		}
	}
	app := c.do(http.MethodGet, "/ucwa/oauth/v1/applications/"+c.appID, "", nil).json(t)
	activity, _ := dig(app, "_embedded", "me", "_links", "reportMyActivity", "href").(string)
	if activity == "" || dig(app, "_embedded", "me", "_links", "makeMeAvailable") != nil {
		t.Fatalf("links after makeMeAvailable: %v", dig(app, "_embedded", "me", "_links"))
	}
	e.clock.Advance(time.Minute)
	if r := c.postJSON(activity, nil); r.status != http.StatusNoContent {
		t.Fatalf("reportMyActivity: %d", r.status)
	}
	if got := e.emu.Applications("alice@contoso.com")[0].LastActivity; !got.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("last activity %v", got)
	}
	presence := dig(app, "_embedded", "me", "_links", "presence", "href").(string)
	pres := c.do(http.MethodGet, presence, "", nil)
	if pres.json(t)["availability"] != "Online" {
		t.Fatalf("presence %s", pres.body)
	}
	if r := c.postJSON(presence, map[string]string{"availability": "Busy"}); r.status != http.StatusNoContent {
		t.Fatalf("set presence: %d", r.status)
	}
	if r := c.postJSON(presence, map[string]string{"availability": "Sleeping"}); r.status != http.StatusBadRequest {
		t.Fatalf("bad availability accepted: %d", r.status)
	}
}

func TestApplicationExpiresAfterFifteenMinutesWithoutPoll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.available("alice@contoso.com", "alice-pw")
	e.clock.Advance(14 * time.Minute)
	if len(e.emu.Applications("alice@contoso.com")) != 1 {
		t.Fatal("application expired before 15 minutes")
	}
	// A poll resets the countdown: it is answered at once because a peer
	// message is waiting.
	if _, err := e.emu.Peer("bob@contoso.com").SendIM("alice@contoso.com", "hi"); err != nil {
		t.Fatal(err)
	}
	c.poll()
	e.clock.Advance(14 * time.Minute)
	if len(e.emu.Applications("alice@contoso.com")) != 1 {
		t.Fatal("a poll did not restart the expiry countdown")
	}
	e.clock.Advance(time.Minute + time.Second)
	if n := len(e.emu.Applications("alice@contoso.com")); n != 0 {
		t.Fatalf("%d applications after 15 minutes idle", n)
	}
	r := c.do(http.MethodGet, c.events, "", nil)
	if r.status != http.StatusNotFound || r.json(t)["subcode"] != "ApplicationNotFound" {
		t.Fatalf("poll on expired application: %d %s", r.status, r.body)
	}
}

func TestExpiryDoesNotHitParkedPoll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{PollTimeout: time.Hour, MinPollTimeout: time.Second, MaxPollTimeout: 2 * time.Hour})
	c := e.available("alice@contoso.com", "alice-pw")
	done := make(chan reply, 1)
	go func() { done <- c.doCtx(ctxT(t), http.MethodGet, c.events, "", nil) }()
	waitParked(t, e, "alice@contoso.com")
	e.clock.Advance(30 * time.Minute)
	if len(e.emu.Applications("alice@contoso.com")) != 1 {
		t.Fatal("application with a parked poll expired")
	}
	e.clock.Advance(31 * time.Minute) // the poll is released at 60 min
	r := <-done
	if r.status != http.StatusOK || r.json(t)["sender"] != nil {
		t.Fatalf("timed-out poll: %d %s", r.status, r.body)
	}
}

func waitParked(t *testing.T, e *env, sip string) {
	t.Helper()
	err := e.emu.WaitFor(ctxT(t), func() bool {
		apps := e.emu.Applications(sip)
		return len(apps) > 0 && apps[0].Polling
	})
	if err != nil {
		t.Fatal("poll never parked")
	}
}
