package lync

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// kill simulates SIGKILL of the bridge process: from this moment it
// reaches neither the homeserver nor the server (its connections are cut),
// its database is what is on disk now (copied), and a new process starts on
// that copy. Whatever the dead process does afterwards touches only its
// own, discarded database.
func (e *env) kill() {
	e.t.Helper()
	dead, gen := e.h, e.gen
	dead.Matrix.SetSendFault(func(id.RoomID, id.UserID, *event.Content) (bool, error) {
		return false, errors.New("the bridge process is dead")
	})
	gen.kill()
	snapshot := fmt.Sprintf("%s/killed-%d.db", e.t.TempDir(), time.Now().UnixNano())
	if _, err := dead.DB.Exec(dead.Ctx, "VACUUM INTO '"+snapshot+"'"); err != nil {
		e.t.Fatalf("copy the database at the kill: %v", err)
	}
	dead.Stop()
	dead.Matrix.SetSendFault(nil)
	e.start(snapshot)
}

// soakSize is how many IMs the soak sends; IMBRIDGE_SOAK_MESSAGES changes it
// (the figure is the default).
func soakSize(t *testing.T) int {
	if v := os.Getenv("IMBRIDGE_SOAK_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("IMBRIDGE_SOAK_MESSAGES=%q", v)
		}
		return n
	}
	return 1000
}

// TestSoakIncomingWithKillsAndFaults: three colleagues send 1,000 IMs while
// the bridge is killed and restarted three times at random points and 10 %
// of event-channel and message requests fail with 503 or 429. Every message
// arrives exactly once, in order, in its colleague's one room.
func TestSoakIncomingWithKillsAndFaults(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	e := newEnvLogged(t, soakLog(t), withEmu(func(o *ucwaemu.Options) {
		// Messages must survive the restarts (a real server keeps them 30 s).
		o.InvitationTimeout = 2 * time.Minute
		o.OmitMessageEmbedded = true // each message is a GET: one more path to fail
		o.LocalParticipant = "me"
	}))
	e.login()
	total := soakSize(t)
	colleagues := []string{bobSIP, carolSIP, "dave@corp.example"}
	if err := e.emu.AddUser(colleagues[2], "Dave Grohl", "dave"); err != nil {
		t.Fatal(err)
	}
	// 10 % of event-channel polls and message reads fail with 503 or 429.
	e.emu.SetRandomFaults(&ucwaemu.RandomFaults{Rate: 0.1, Method: "GET",
		PathContains: []string{"/events", "/messaging/messages/"}, Statuses: []int{503, 429}, RetryAfter: "0"})
	kills := map[int]bool{}
	for len(kills) < 3 {
		kills[1+rng.IntN(total-2)] = true
	}
	sent := map[string][]string{}
	ghosts := map[id.UserID]bool{}
	for _, who := range colleagues {
		ghosts[e.ghost(who)] = true
	}
	bridged := func() int {
		n := 0
		for _, r := range e.h.Matrix.Rooms() {
			for _, m := range e.h.Matrix.Messages(r.ID) {
				if ghosts[m.Sender] {
					n++
				}
			}
		}
		return n
	}
	for i := range total {
		if kills[i] {
			// Kill mid-stream: with the bridge a few messages behind, so
			// some are in flight somewhere between the server and Matrix.
			lag := rng.IntN(6)
			if err := e.h.Matrix.Wait(e.h.Ctx, time.Minute, "the bridge to catch up before the kill", func() bool { return bridged() >= i-lag }); err != nil {
				t.Fatal(err)
			}
			e.kill()
		}
		who := colleagues[rng.IntN(len(colleagues))]
		text := fmt.Sprintf("%s #%d", strings.Split(who, "@")[0], i)
		if _, err := e.emu.Peer(who).SendIM(aliceSIP, text); err != nil {
			t.Fatal(err)
		}
		sent[who] = append(sent[who], text)
	}
	e.connected()
	e.emu.SetRandomFaults(nil) // the poll that proves all is through must not wait out a backoff
	for _, who := range colleagues {
		room := e.dmRoom(who)
		err := e.h.Matrix.Wait(e.h.Ctx, 3*time.Minute, who+"'s messages", func() bool {
			return len(e.texts(room, e.ghost(who))) >= len(sent[who])
		})
		got := e.texts(room, e.ghost(who))
		if err != nil || !slices.Equal(got, sent[who]) {
			t.Fatalf("%s's room: %d messages, want the %d sent, in order (first difference %s); %v\ngot  %q\nwant %q",
				who, len(got), len(sent[who]), firstDifference(got, sent[who]), err, got[:min(8, len(got))], sent[who][:min(8, len(sent[who]))])
		}
	}
	// One room per colleague, also after the restarts.
	for _, who := range colleagues {
		home := e.dmRoom(who)
		for _, r := range e.h.Matrix.Rooms() {
			if r.ID == home {
				continue
			}
			for _, m := range e.h.Matrix.Messages(r.ID) {
				if m.Sender == e.ghost(who) {
					t.Fatalf("%s wrote %q into another room %s", who, m.Message().Body, r.ID)
				}
			}
		}
	}
}

// TestSoakOutgoingWithKills: 300 Matrix messages into three rooms with the
// bridge killed twice at random points and 10 % of sends answered 503/429:
// each is delivered exactly once, or shown to the user as failed, never
// twice.
func TestSoakOutgoingWithKills(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	e := newEnvLogged(t, soakLog(t), withEmu(func(o *ucwaemu.Options) { o.InvitationTimeout = 2 * time.Minute }))
	e.login()
	colleagues := []string{bobSIP, carolSIP}
	rooms := map[string]id.RoomID{}
	for _, who := range colleagues {
		if _, err := e.emu.Peer(who).SendIM(aliceSIP, "hi from "+who); err != nil {
			t.Fatal(err)
		}
		rooms[who] = e.dmRoom(who)
		e.waitTexts(rooms[who], e.ghost(who), "hi from "+who)
	}
	const total = 300
	e.emu.SetRandomFaults(&ucwaemu.RandomFaults{Rate: 0.1, Method: "POST",
		PathContains: []string{"/messaging/messages", "/messagingInvitations"}, Statuses: []int{503, 429}, RetryAfter: "0"})
	kills := map[int]bool{}
	for len(kills) < 2 {
		kills[1+rng.IntN(total-2)] = true
	}
	events := map[id.EventID]string{}
	for i := range total {
		if kills[i] {
			// Kill with some messages still pending.
			lag := rng.IntN(6)
			if err := e.h.Matrix.Wait(e.h.Ctx, time.Minute, "the bridge to catch up before the kill", func() bool {
				n := len(e.emu.Received(bobSIP)) + len(e.emu.Received(carolSIP))
				for _, s := range e.h.Matrix.Statuses() {
					if _, mine := events[s.EventID]; mine && s.Status != event.MessageStatusSuccess {
						n++ // failed at the previous kill: it will never arrive
					}
				}
				return n >= i-lag
			}); err != nil {
				t.Fatal(err)
			}
			e.kill()
		}
		who := colleagues[i%len(colleagues)]
		text := fmt.Sprintf("to %s #%d", who, i)
		events[e.sendMatrix(rooms[who], text)] = text
	}
	e.connected()
	// Every message gets a final status: success, or failure after a kill.
	settled := func() (ok, failed map[string]bool) {
		ok, failed = map[string]bool{}, map[string]bool{}
		for _, s := range e.h.Matrix.Statuses() {
			text, mine := events[s.EventID]
			if !mine {
				continue
			}
			if s.Status == event.MessageStatusSuccess {
				ok[text] = true
			} else {
				failed[text] = true
			}
		}
		return ok, failed
	}
	err := e.h.Matrix.Wait(e.h.Ctx, 3*time.Minute, "a status for every message", func() bool {
		ok, failed := settled()
		n := 0
		for _, text := range events {
			if ok[text] || failed[text] {
				n++
			}
		}
		return n == len(events)
	})
	ok, failed := settled()
	if err != nil {
		t.Fatalf("%v: %d delivered, %d failed, of %d", err, len(ok), len(failed), len(events))
	}
	received := map[string]int{}
	for _, who := range colleagues {
		for _, m := range e.emu.Received(who) {
			received[m.Text]++
		}
	}
	for _, text := range events {
		switch {
		case received[text] > 1:
			t.Errorf("%q was delivered %d times", text, received[text])
		case ok[text] && received[text] != 1:
			t.Errorf("%q is shown as sent but was not delivered", text)
		case !ok[text] && !failed[text]:
			t.Errorf("%q has no status", text)
		}
	}
	uncertain := 0
	for text := range failed {
		if ok[text] {
			uncertain++ // confirmed, then the restart could not know it was
		}
	}
	t.Logf("%d delivered, %d shown as failed (pending at a kill), %d of them delivered all the same", len(ok), len(failed), uncertain)
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("at %d", min(len(got), len(want)))
}

// soakLog sends the bridge's logs to IMBRIDGE_SOAK_LOG, when set, for
// looking into a failed soak.
func soakLog(t *testing.T) *zerolog.Logger {
	path := os.Getenv("IMBRIDGE_SOAK_LOG")
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	log := zerolog.New(f).With().Timestamp().Logger().Level(zerolog.DebugLevel)
	return &log
}
