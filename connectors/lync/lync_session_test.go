package lync

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// appID returns alice's only live UCWA application.
func (e *env) appID() string {
	e.t.Helper()
	apps := e.emu.Applications(aliceSIP)
	if len(apps) != 1 {
		e.t.Fatalf("alice has %d applications, want 1", len(apps))
	}
	return apps[0].ID
}

func TestRestartResumesWithoutLossOrDuplicates(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	if _, err := bob.SendIM(aliceSIP, "before restart"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "before restart")
	app := e.appID()

	e.restart()
	e.connected()
	if got := e.appID(); got != app {
		t.Fatalf("the restart made a new application %s instead of resuming %s", got, app)
	}
	if _, err := bob.SendIM(aliceSIP, "after restart"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "before restart", "after restart")
	// The reply goes into the conversation that survived the restart.
	e.sendMatrix(room, "still here")
	if got := e.received(bobSIP, 1); got[0].Text != "still here" {
		t.Fatalf("bob received %q", got[0].Text)
	}
	for _, r := range e.h.BotReplies(alice) {
		if strings.Contains(r, "may have been missed") {
			t.Fatalf("a resumed session must not warn about missed messages: %q", r)
		}
	}
}

func TestMessageWhileBridgeIsDownArrivesOnce(t *testing.T) {
	e := newEnv(t)
	e.login()
	bob := e.emu.Peer(bobSIP)
	if _, err := bob.SendIM(aliceSIP, "one"); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), "one")
	db := e.h.DBPath
	e.h.Stop()
	if _, err := bob.SendIM(aliceSIP, "two"); err != nil {
		t.Fatal(err)
	}
	e.start(db)
	e.connected()
	if _, err := bob.SendIM(aliceSIP, "three"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "one", "two", "three")
}

func TestApplicationGoneIsRecreatedAndUserWarned(t *testing.T) {
	e := newEnv(t)
	e.login()
	old := e.appID()
	if !e.emu.DeleteApplication(old) {
		t.Fatal("could not delete the application")
	}
	e.h.WaitFor("a new application", func() bool {
		apps := e.emu.Applications(aliceSIP)
		return len(apps) == 1 && apps[0].ID != old && apps[0].Available
	})
	e.h.WaitFor("the user to be told that messages may have been missed", func() bool {
		for _, r := range e.h.BotReplies(alice) {
			if strings.Contains(r, "may have been missed") {
				return true
			}
		}
		return false
	})
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "after recreation"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(e.dmRoom(bobSIP), e.ghost(bobSIP), "after recreation")
	e.connected()
}

func TestFaultsLeaveLoginConnectedWithNothingLost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(e *env)
	}{
		{"5xx on the event channel", func(e *env) {
			e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/events", Status: 503, Count: 3})
		}},
		{"429 with Retry-After", func(e *env) {
			e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/events", Status: 429, RetryAfter: "1", Count: 1})
		}},
		{"expired token", func(e *env) { e.emu.ExpireTokens() }},
		{"connection dropped mid-poll", func(e *env) {
			e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/events", Drop: true, Count: 2})
		}},
		{"slow responses", func(e *env) {
			e.emu.InjectFault(ucwaemu.Fault{PathContains: "/ucwa/", Delay: 300 * time.Millisecond, Count: 5})
		}},
		{"server reset (resume link)", func(e *env) {
			if !e.emu.ForceResume(e.appID()) {
				e.t.Fatal("could not force a resume")
			}
		}},
		{"5xx on sending", func(e *env) {
			e.emu.InjectFault(ucwaemu.Fault{Method: "POST", PathContains: "/messages", Status: 500, Count: 1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.login()
			bob := e.emu.Peer(bobSIP)
			if _, err := bob.SendIM(aliceSIP, "hello"); err != nil {
				t.Fatal(err)
			}
			room := e.dmRoom(bobSIP)
			e.waitTexts(room, e.ghost(bobSIP), "hello")
			tc.fault(e)
			for _, text := range []string{"a", "b", "c"} {
				if _, err := bob.SendIM(aliceSIP, text); err != nil {
					t.Fatal(err)
				}
			}
			e.waitTexts(room, e.ghost(bobSIP), "hello", "a", "b", "c")
			evt := e.sendMatrix(room, "reply")
			st := e.status(evt)
			if !isSuccess(st) {
				t.Fatalf("reply status %+v", st)
			}
			got := e.received(bobSIP, 1)
			if len(got) != 1 || got[0].Text != "reply" {
				t.Fatalf("bob received %+v", got)
			}
			e.connected()
			// Nothing came twice: a later message arrives right after "c".
			if _, err := bob.SendIM(aliceSIP, "marker"); err != nil {
				t.Fatal(err)
			}
			e.waitTexts(room, e.ghost(bobSIP), "hello", "a", "b", "c", "marker")
			if tc.name == "5xx on the event channel" {
				if m := e.scrapeMetrics(); !strings.Contains(m, `imbridge_remote_api_errors_total{endpoint="events",protocol="lync",status="503"} 3`) {
					t.Fatalf("the event channel's 503s are not counted:\n%s", m)
				}
			}
		})
	}
}

func TestReplacedPollOnceIsToleratedTwiceStopsTheLogin(t *testing.T) {
	e := newEnv(t)
	e.login()
	replace := func() {
		t.Helper()
		e.h.WaitFor("a parked event request", func() bool {
			apps := e.emu.Applications(aliceSIP)
			return len(apps) == 1 && apps[0].Polling
		})
		if !e.emu.ReplacePGet(e.appID()) {
			t.Fatal("no parked request to replace")
		}
	}
	replace()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "still connected?"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(e.dmRoom(bobSIP), e.ghost(bobSIP), "still connected?")
	e.connected()
	replace()
	e.h.WaitFor("an UNKNOWN_ERROR about another instance", func() bool {
		for _, st := range e.h.Matrix.BridgeStates() {
			if st.StateEvent == status.StateUnknownError && strings.Contains(st.Message, "Another program") {
				return true
			}
		}
		return false
	})
}

func TestSeed002ReplayBridgesSandeepOnce(t *testing.T) {
	e := newEnv(t)
	e.login()
	if err := e.emu.ReplaySeed002(e.appID()); err != nil {
		t.Fatal(err)
	}
	const sandeep = "sandeep.shantharam@biogen.com"
	room := e.dmRoom(sandeep)
	e.waitTexts(room, e.ghost(sandeep), ucwaemu.SeedFirstMessage)
	e.h.WaitFor("Sandeep's ghost to carry his name", func() bool {
		p := e.h.Matrix.Profile(e.ghost(sandeep))
		return p != nil && p.DisplayName == ucwaemu.SeedPeerName
	})
	// The declined/cancelled part: the conversation ends, nothing else is
	// bridged, and the login stays connected.
	e.h.WaitFor("the replay to be consumed", func() bool {
		apps := e.emu.Applications(aliceSIP)
		return len(apps) == 1 && apps[0].Pending == 0
	})
	if lc := e.client().conv.forPortal(e.dmPortalID(sandeep)); lc != nil {
		t.Fatal("the cancelled conversation is still considered live")
	}
	// Nothing else was bridged: Sandeep's next message comes right after.
	if _, err := e.emu.Peer(sandeep).SendIM(aliceSIP, "marker"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(sandeep), ucwaemu.SeedFirstMessage, "marker")
	e.connected()
}

func TestServerThatMovedIsDiscoveredAgain(t *testing.T) {
	e := newEnv(t)
	e.login()
	db := e.h.DBPath
	e.h.Stop()
	// The front end moves: the saved session's URLs stop answering, and the
	// configured discovery URL now leads to the new address.
	e.srv.Close()
	e.srv = httptest.NewServer(e.emu)
	t.Cleanup(e.srv.Close)
	e.discoveryURL = e.srv.URL + "/"
	e.start(db)
	e.connected()
	if _, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, "found you"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(e.dmRoom(bobSIP), e.ghost(bobSIP), "found you")
}
