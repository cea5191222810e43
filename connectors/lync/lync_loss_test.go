package lync

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

// Tests for issue 7's "messages lost or doubled" items.

func withEmu(f func(*ucwaemu.Options)) envOption {
	return func(_ *env, o *ucwaemu.Options) { f(o) }
}

// startDM has bob open a chat with alice and waits for its first message.
func (e *env) startDM(first string) (thread string, room id.RoomID) {
	e.t.Helper()
	thread, err := e.emu.Peer(bobSIP).SendIM(aliceSIP, first)
	if err != nil {
		e.t.Fatal(err)
	}
	room = e.dmRoom(bobSIP)
	e.waitTexts(room, e.ghost(bobSIP), first)
	e.h.WaitFor("alice to join bob's conversation", func() bool {
		info, ok := e.emu.Thread(thread)
		return ok && len(info.Members) == 2
	})
	return thread, room
}

var injected atomic.Int64

// bobMessage is an incoming message event from bob in alice's conversation
// of thread, as a server would send it, with the given message links and
// timeStamp JSON.
func (e *env) bobMessage(thread string, links map[string]string, timeStamp string) (href string, raw json.RawMessage) {
	e.t.Helper()
	app := e.appID()
	conv := e.emu.ConversationHref(app, thread)
	if conv == "" {
		e.t.Fatal("alice has no conversation in the thread")
	}
	href = fmt.Sprintf("%s/messaging/messages/%d", conv, 900+injected.Add(1))
	l := map[string]any{
		"self":        map[string]string{"href": href},
		"messaging":   map[string]string{"href": conv + "/messaging"},
		"participant": map[string]string{"href": conv + "/participants/" + bobSIP, "title": "Bob Builder"},
		"contact":     map[string]string{"href": "/ucwa/oauth/v1/applications/" + app + "/people/" + bobSIP},
	}
	for rel, h := range links {
		l[rel] = map[string]string{"href": h}
	}
	msg := map[string]any{"rel": "message", "direction": "Incoming", "_links": l}
	if timeStamp != "" {
		msg["timeStamp"] = json.RawMessage(timeStamp)
	}
	raw, _ = json.Marshal(map[string]any{
		"type": "completed", "status": "Success",
		"link":      map[string]string{"rel": "message", "href": href},
		"_embedded": map[string]any{"message": msg},
	})
	return href, raw
}

func (e *env) inject(thread string, events ...json.RawMessage) {
	e.t.Helper()
	app := e.appID()
	if err := e.emu.InjectEvents(app, "conversation", e.emu.ConversationHref(app, thread), events...); err != nil {
		e.t.Fatal(err)
	}
}

func plainURL(s string) string { return "data:text/plain;charset=utf-8," + url.QueryEscape(s) }

// Item 1: a message event without _embedded is read from its link.
func TestMessageWithoutEmbeddedIsFetched(t *testing.T) {
	e := newEnv(t, withEmu(func(o *ucwaemu.Options) { o.OmitMessageEmbedded = true }))
	e.login()
	thread, room := e.startDM("Hi Alice")
	if err := e.emu.Peer(bobSIP).Say(thread, "second, without _embedded"); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Peer(bobSIP).Say(thread, "third"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "second, without _embedded", "third")
}

// Item 4: malformed events are skipped with a warning naming them, and the
// good events of the same batch, and later batches, are bridged.
func TestMalformedEventIsSkippedNotWedging(t *testing.T) {
	var logs syncBuffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	e := newEnvLogged(t, &log)
	e.login()
	thread, room := e.startDM("Hi Alice")
	_, good := e.bobMessage(thread, map[string]string{"plainMessage": plainURL("between the bad ones")}, "")
	e.inject(thread,
		json.RawMessage(`{"type":"added"}`),
		good,
		json.RawMessage(`{"type":"completed","link":{"rel":"message","href":12345}}`),
	)
	if err := e.emu.Peer(bobSIP).Say(thread, "after the bad batch"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "between the bad ones", "after the bad batch")
	out := logs.String()
	if strings.Count(out, "Skipped a malformed event") != 2 || !strings.Contains(out, `"href":"12345"`) {
		t.Fatalf("the skipped events were not each logged with their href:\n%s", grepLines(out, "malformed"))
	}
}

// Item 4: after a session works again, the next failure starts from the
// shortest backoff instead of continuing the doubling.
func TestSessionBackoffResetsAfterSuccess(t *testing.T) {
	var logs syncBuffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	e := newEnvLogged(t, &log)
	e.login()
	thread, room := e.startDM("Hi Alice")
	e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/events", Status: 400, Count: 4})
	bob := e.emu.Peer(bobSIP)
	if err := bob.Say(thread, "one"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "one")
	e.h.WaitFor("the four faults to be used", func() bool { return e.emu.PendingFaults() == 0 })
	e.connected()
	if err := bob.Say(thread, "two"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "one", "two")
	e.emu.InjectFault(ucwaemu.Fault{Method: "GET", PathContains: "/events", Status: 400, Count: 1})
	if err := bob.Say(thread, "three"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "one", "two", "three")
	e.h.WaitFor("the last fault to be used", func() bool { return e.emu.PendingFaults() == 0 })
	e.h.WaitFor("five session failures to be logged", func() bool { return len(sessionRetries(logs.String())) >= 5 })
	got := sessionRetries(logs.String())
	want := []float64{20, 40, 80, 160, 20}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("session retry delays (ms) = %v, want %v", got, want)
	}
}

func sessionRetries(logs string) []float64 {
	var out []float64
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Message string  `json:"message"`
			RetryIn float64 `json:"retry_in"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "Skype for Business session failed" {
			out = append(out, l.RetryIn)
		}
	}
	return out
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// homeserverDown makes the fake homeserver refuse bob's ghost's messages
// while down is true, counting the refusals.
func (e *env) homeserverDown(down *atomic.Bool, refused *atomic.Int64) {
	ghost := e.ghost(bobSIP)
	e.h.Matrix.SetSendFault(func(_ id.RoomID, sender id.UserID, _ *event.Content) (bool, error) {
		if sender == ghost && down.Load() {
			refused.Add(1)
			return false, errors.New("connection refused: homeserver down")
		}
		return true, nil
	})
}

// Item 2: while the homeserver refuses messages, the batch is retried with
// backoff and its message arrives once the homeserver is back.
func TestMessageRetriedWhileHomeserverDown(t *testing.T) {
	e := newEnv(t)
	e.login()
	thread, room := e.startDM("Hi Alice")
	var down atomic.Bool
	var refused atomic.Int64
	down.Store(true)
	e.homeserverDown(&down, &refused)
	if err := e.emu.Peer(bobSIP).Say(thread, "while the homeserver is down"); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("three refused attempts", func() bool { return refused.Load() >= 3 })
	if err := e.emu.Peer(bobSIP).Say(thread, "queued behind it"); err != nil {
		t.Fatal(err)
	}
	down.Store(false)
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "while the homeserver is down", "queued behind it")
}

// Item 2: a bridge stopped while its messages cannot reach Matrix keeps
// the event cursor before them, so after the restart they are bridged.
func TestCursorStaysBeforeUnbridgedMessagesAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.login()
	thread, room := e.startDM("Hi Alice")
	var down atomic.Bool
	var refused atomic.Int64
	down.Store(true)
	e.homeserverDown(&down, &refused)
	if err := e.emu.Peer(bobSIP).Say(thread, "never acknowledged"); err != nil {
		t.Fatal(err)
	}
	e.h.WaitFor("a refused attempt", func() bool { return refused.Load() >= 1 })
	db := e.h.DBPath
	e.h.Stop()
	down.Store(false)
	e.start(db)
	e.connected()
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "never acknowledged")
}

// Items 5 and 6 end to end: a body over the homeserver's size limit, an
// unknown charset, bad base64, a bad timeStamp and control characters all
// still reach the room.
func TestAwkwardMessagesStillReachTheRoom(t *testing.T) {
	e := newEnv(t)
	e.login()
	thread, room := e.startDM("Hi Alice")
	// Like Synapse: events over 65,536 bytes are refused with M_TOO_LARGE.
	e.h.Matrix.SetSendFault(func(_ id.RoomID, _ id.UserID, content *event.Content) (bool, error) {
		raw, _ := json.Marshal(content)
		if len(raw) > 65536 {
			return false, errors.New("M_TOO_LARGE: event too large")
		}
		return true, nil
	})
	big := strings.Repeat("0123456789 ", 7000) // 77 kB
	if err := e.emu.Peer(bobSIP).Say(thread, big); err != nil {
		t.Fatal(err)
	}
	_, badCharset := e.bobMessage(thread, map[string]string{"plainMessage": "data:text/plain;charset=x-klingon,abc"}, "")
	_, badBase64 := e.bobMessage(thread, map[string]string{"plainMessage": "data:text/plain;charset=utf-8;base64,@@@@"}, "")
	_, badHTMLGoodPlain := e.bobMessage(thread, map[string]string{
		"htmlMessage": "data:text/html;charset=x-klingon,abc", "plainMessage": plainURL("plain survives")}, "")
	_, badDate := e.bobMessage(thread, map[string]string{"plainMessage": plainURL("dated badly")}, `"\/Date(never)\/"`)
	_, controls := e.bobMessage(thread, map[string]string{"plainMessage": plainURL("nul\x00bell\x07 kept\ttab")}, "")
	e.inject(thread, badCharset, badBase64, badHTMLGoodPlain, badDate, controls)
	e.h.WaitFor("every message to arrive", func() bool { return len(e.texts(room, e.ghost(bobSIP))) >= 10 })
	got := e.texts(room, e.ghost(bobSIP))
	parts := got[1 : len(got)-5]
	if len(parts) < 2 || strings.Count(strings.Join(parts, ""), "0123456789") != 7000 {
		t.Fatalf("the 77 kB message arrived as %d parts with %d of 7000 groups", len(parts), strings.Count(strings.Join(parts, ""), "0123456789"))
	}
	tail := got[len(got)-5:]
	for i, want := range []string{"could not be read", "could not be read", "plain survives", "dated badly", "nulbell kept\ttab"} {
		if !strings.Contains(tail[i], want) {
			t.Errorf("message %d = %q, want it to contain %q", i, tail[i], want)
		}
	}
}

// Item 14: after a restart a 1:1 conversation stays in its DM room however
// the server marks the user's own participant.
func TestRestartKeepsOneToOneInItsRoomForEveryLocalShape(t *testing.T) {
	for _, shape := range []string{"local", "me", "uri"} {
		t.Run(shape, func(t *testing.T) {
			e := newEnv(t, withEmu(func(o *ucwaemu.Options) { o.LocalParticipant = shape }))
			e.login()
			thread, room := e.startDM("Hi Alice")
			e.restart()
			e.connected()
			if err := e.emu.Peer(bobSIP).Say(thread, "after restart"); err != nil {
				t.Fatal(err)
			}
			e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "after restart")
			e.sendMatrix(room, "reply in the same conversation")
			if got := e.received(bobSIP, 1); got[0].Text != "reply in the same conversation" || got[0].ThreadID != thread {
				t.Fatalf("bob received %+v, want the reply in thread %s", got[0], thread)
			}
		})
	}
}

// lostAnswer makes the fake homeserver take bob's message with this text
// and then fail the request, as when the answer is lost or the bridge dies
// before it writes the message row. hook runs in between.
func (e *env) lostAnswer(text string, hook func()) *atomic.Int64 {
	var hits atomic.Int64
	ghost := e.ghost(bobSIP)
	e.h.Matrix.SetSendFault(func(_ id.RoomID, sender id.UserID, content *event.Content) (bool, error) {
		if msg, ok := content.Parsed.(*event.MessageEventContent); ok && sender == ghost && msg.Body == text && hits.Add(1) == 1 {
			if hook != nil {
				hook()
			}
			return true, errors.New("connection reset after the homeserver stored the event")
		}
		return true, nil
	})
	return &hits
}

// Item 3, in process: the homeserver stored the event but the bridge never
// heard; the retry finds it in the room instead of sending it twice.
func TestLostAnswerDoesNotDoubleTheMessage(t *testing.T) {
	e := newEnv(t)
	e.login()
	thread, room := e.startDM("Hi Alice")
	hits := e.lostAnswer("stored but unanswered", nil)
	if err := e.emu.Peer(bobSIP).Say(thread, "stored but unanswered"); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Peer(bobSIP).Say(thread, "next"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "stored but unanswered", "next")
	if hits.Load() != 1 {
		t.Fatalf("the message was sent %d times", hits.Load())
	}
}

// Item 3, kill -9: the database is copied at the moment the homeserver
// stored the event (what a SIGKILL leaves on disk: no message row, no new
// cursor), and a new bridge starts on that copy. The message is in the room
// exactly once.
func TestKillAfterHomeserverAcceptDoesNotDouble(t *testing.T) {
	e := newEnv(t)
	e.login()
	thread, room := e.startDM("Hi Alice")
	snapshot := t.TempDir() + "/killed.db"
	taken := make(chan struct{})
	killed := e.h // e.h is the new bridge once it starts
	e.lostAnswer("in flight at the kill", func() {
		if _, err := killed.DB.Exec(killed.Ctx, "VACUUM INTO '"+snapshot+"'"); err != nil {
			t.Errorf("snapshot: %v", err)
		}
		close(taken)
		<-killed.Ctx.Done() // the killed process never goes on
	})
	if err := e.emu.Peer(bobSIP).Say(thread, "in flight at the kill"); err != nil {
		t.Fatal(err)
	}
	<-taken
	e.h.Matrix.SetSendFault(nil)
	killed.Stop()
	e.start(snapshot)
	e.connected()
	if err := e.emu.Peer(bobSIP).Say(thread, "after the restart"); err != nil {
		t.Fatal(err)
	}
	e.waitTexts(room, e.ghost(bobSIP), "Hi Alice", "in flight at the kill", "after the restart")
}
