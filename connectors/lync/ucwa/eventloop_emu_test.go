package ucwa_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

func TestEventLoopRetriesServerErrorsAndThrottling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	e.emu.InjectFault(ucwaemu.Fault{PathContains: "/events", Status: http.StatusServiceUnavailable, Count: 2})
	e.emu.InjectFault(ucwaemu.Fault{PathContains: "/events", Status: http.StatusTooManyRequests, RetryAfter: "7"})
	e.emu.InjectFault(ucwaemu.Fault{PathContains: "/events", Status: http.StatusInternalServerError, RetryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)})
	cursor := c.State().EventsURL
	l := run(t, c, nil)
	var waits []time.Duration
	for range 4 {
		u := l.waitKind(ucwa.UpdateRetrying)
		// Retries repeat the same URL: the cursor must not have moved.
		if !ucwa.IsTransient(u.Err) || u.State.EventsURL != cursor {
			t.Fatalf("retry update %+v", u)
		}
		waits = append(waits, u.RetryIn)
	}
	if waits[2] != 7*time.Second {
		t.Fatalf("Retry-After seconds not honoured: %v", waits)
	}
	if waits[3] < 59*time.Minute {
		t.Fatalf("Retry-After date not honoured: %v", waits)
	}
	if waits[0] > 4*time.Millisecond {
		t.Fatalf("backoff above its maximum: %v", waits)
	}
	if _, err := e.emu.Peer(bob).SendIM(alice, "after the storm"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(is("messagingInvitation", ucwa.EventStarted))
	if e.emu.PendingFaults() != 0 {
		t.Fatal("faults left over")
	}
}

func TestEventLoopRenewsExpiredToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	before := c.Token().AccessToken
	e.emu.ExpireTokens()
	l := run(t, c, nil)
	if _, err := e.emu.Peer(bob).SendIM(alice, "still there?"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(is("messagingInvitation", ucwa.EventStarted))
	if after := c.Token().AccessToken; after == before || after == "" {
		t.Fatal("token not renewed")
	}
}

func TestEventLoopRecreatesDeletedApplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	oldID := appID(c)
	l := run(t, c, acceptInvitations(c))
	l.waitKind(ucwa.UpdateEvents) // the makeMeAvailable batch
	if !e.emu.DeleteApplication(oldID) {
		t.Fatal("no application to delete")
	}
	u := l.waitKind(ucwa.UpdateApplicationRecreated)
	if appID(c) == oldID || !strings.Contains(u.State.ApplicationHref, appID(c)) || !u.State.Available {
		t.Fatalf("recreated state %+v", u.State)
	}
	apps := e.emu.Applications(alice)
	if len(apps) != 1 || !apps[0].Available {
		t.Fatalf("server side %+v", apps)
	}
	if _, err := e.emu.Peer(bob).SendIM(alice, "new app?"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("new app?"))
}

func TestEventLoopSurvivesDroppedConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cfg := e.config()
	// Without keep-alive net/http cannot silently retry the dropped GET,
	// so the loop's own retry is exercised.
	cfg.HTTPClient = e.httpClient(false)
	c := e.signedIn(t, cfg)
	if _, err := e.emu.Peer(bob).SendIM(alice, "exactly once"); err != nil {
		t.Fatal(err)
	}
	e.emu.InjectFault(ucwaemu.Fault{Method: http.MethodGet, PathContains: "/events", Drop: true, Count: 2})
	l := run(t, c, nil)
	retry := l.waitKind(ucwa.UpdateRetrying)
	if !errors.Is(retry.Err, ucwa.ErrUnreachable) {
		t.Fatalf("retry cause %v", retry.Err)
	}
	// The dropped answers carried batch 1 (makeMeAvailable's events); the
	// retried URL must hand it over exactly once, followed by the rest.
	counts := map[string]int{}
	l.waitEvent(func(se ucwa.SenderEvent) bool {
		counts[se.Event.Link.Rel+"/"+se.Event.Type]++
		return is("participant", ucwa.EventAdded)(se)
	})
	for _, key := range []string{"me/updated", "communication/updated", "messagingInvitation/started", "participant/added"} {
		if counts[key] != 1 {
			t.Fatalf("%s delivered %d times: %v", key, counts[key], counts)
		}
	}
}

func TestEventLoopToleratesSlowResponses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	e.emu.InjectFault(ucwaemu.Fault{PathContains: "/events", Delay: 50 * time.Millisecond, Count: 3})
	e.emu.InjectFault(ucwaemu.Fault{Method: http.MethodPost, PathContains: "/accept", Delay: 50 * time.Millisecond})
	l := run(t, c, acceptInvitations(c))
	if _, err := e.emu.Peer(bob).SendIM(alice, "slowly"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("slowly"))
	select {
	case u := <-l.updates:
		if u.Kind == ucwa.UpdateRetrying {
			t.Fatalf("slow answer treated as failure: %v", u.Err)
		}
	default:
	}
}

func TestEventLoopStopsOnPGetReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, nil)
	l.waitKind(ucwa.UpdateEvents)
	err := e.emu.WaitFor(ctxT(t), func() bool { return e.emu.ReplacePGet(appID(c)) })
	if err != nil {
		t.Fatal(err)
	}
	if err := l.wait(); !errors.Is(err, ucwa.ErrDuplicateInstance) || !ucwa.IsPGetReplaced(err) {
		t.Fatalf("RunEvents ended with %v", err)
	}
}

func TestEventLoopSignalsResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, acceptInvitations(c))
	if _, err := e.emu.Peer(bob).SendIM(alice, "before"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("before"))
	if !e.emu.ForceResume(appID(c)) {
		t.Fatal("ForceResume")
	}
	u := l.waitKind(ucwa.UpdateResume)
	if u.Batch == nil || !strings.Contains(u.State.EventsURL, "/events?ack=") {
		t.Fatalf("resume update %+v", u)
	}
	if convs, err := c.Conversations(ctxT(t)); err != nil || len(convs) != 0 {
		t.Fatalf("conversations after resume %+v %v", convs, err)
	}
	if _, err := e.emu.Peer(bob).SendIM(alice, "after"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("after"))
}

func TestHandlerErrorKeepsCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	before := c.State().EventsURL
	err := c.RunEvents(ctxT(t), func(context.Context, ucwa.Update) error { return errStop })
	if !errors.Is(err, errStop) || c.State().EventsURL != before {
		t.Fatalf("%v, cursor %s -> %s", err, before, c.State().EventsURL)
	}
	// The same batch comes again.
	var got *ucwa.EventBatch
	_ = c.RunEvents(ctxT(t), func(_ context.Context, u ucwa.Update) error { got = u.Batch; return errStop })
	if got == nil || got.Len() == 0 || got.All()[0].Event.Link.Rel != "me" {
		t.Fatalf("redelivered batch %+v", got)
	}
}

func TestResumeFromSavedState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := e.signedIn(t, e.config())
	var saved ucwa.State
	_ = first.RunEvents(ctxT(t), func(_ context.Context, u ucwa.Update) error {
		saved = u.State // persist after handling
		return errStop  // the process "crashes" after one batch
	})
	if saved.EventsURL == "" || saved.EventsURL == first.State().EventsURL {
		t.Fatalf("saved cursor %q should be the next URL", saved.EventsURL)
	}

	second, err := ucwa.New(e.config())
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := second.Resume(ctxT(t), saved)
	if err != nil || !resumed || appID(second) != appID(first) || second.State().EventsURL != saved.EventsURL {
		t.Fatalf("resume: %v %v %+v", resumed, err, second.State())
	}
	l := run(t, second, acceptInvitations(second))
	if _, err := e.emu.Peer(bob).SendIM(alice, "welcome back"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("welcome back"))
	l.cancel()
	_ = l.wait()

	// The saved application is gone: a new one is made and available.
	e.emu.DeleteApplication(appID(second))
	third, _ := ucwa.New(e.config())
	resumed, err = third.Resume(ctxT(t), saved)
	if err != nil || resumed || appID(third) == appID(first) || !third.State().Available {
		t.Fatalf("resume after deletion: %v %v %+v", resumed, err, third.State())
	}
	if apps := e.emu.Applications(alice); len(apps) != 1 || !apps[0].Available {
		t.Fatalf("server side %+v", apps)
	}

	other := e.config()
	other.EndpointID = "someone-else"
	fourth, _ := ucwa.New(other)
	if _, err := fourth.Resume(ctxT(t), saved); err == nil {
		t.Fatal("resumed another endpoint's state")
	}
}

func TestStaleCursorGetsResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	stale := c.State()
	l := run(t, c, acceptInvitations(c))
	if _, err := e.emu.Peer(bob).SendIM(alice, "moving on"); err != nil {
		t.Fatal(err)
	}
	l.waitEvent(incomingText("moving on"))
	l.cancel()
	_ = l.wait()

	again, _ := ucwa.New(e.config())
	if resumed, err := again.Resume(ctxT(t), stale); err != nil || !resumed {
		t.Fatalf("resume: %v %v", resumed, err)
	}
	l2 := run(t, again, nil)
	u := l2.waitKind(ucwa.UpdateResync)
	if u.State.EventsURL == stale.EventsURL {
		t.Fatal("resync did not move the cursor")
	}
	if _, err := e.emu.Peer(bob).SendIM(alice, "after resync"); err != nil {
		t.Fatal(err)
	}
	l2.waitEvent(incomingText("after resync"))
}

func TestOnlyOneEventLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.signedIn(t, e.config())
	l := run(t, c, nil)
	l.waitKind(ucwa.UpdateEvents)
	if err := c.RunEvents(ctxT(t), func(context.Context, ucwa.Update) error { return nil }); err == nil || errors.Is(err, ucwa.ErrDuplicateInstance) {
		t.Fatalf("second RunEvents: %v", err)
	}
	fresh, _ := ucwa.New(e.config())
	if err := fresh.RunEvents(ctxT(t), func(context.Context, ucwa.Update) error { return nil }); !errors.Is(err, ucwa.ErrNoApplication) {
		t.Fatalf("RunEvents without application: %v", err)
	}
}
