package skype

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

// skypeUser signs a Skype user in directly against the emulator, for what
// the driver API does not cover (files).
func (e *env) skypeUser(login, password string) *skypeapi.Client {
	e.t.Helper()
	u := e.emu.URL()
	cfg := skypeapi.Config{LoginLiveURL: u, EdgeURL: u, LoginSkypeURL: u, APIURL: u, ContactsURL: u, ProfileURL: u, MsgsHost: u, ASMURL: u, AllowInsecureHTTP: true}
	auth, err := skypeapi.NewAuth(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := auth.Login(ctx, login, password)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := skypeapi.NewClient(cfg, *s, skypeapi.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestTypingAndReadBothWays(t *testing.T) {
	e := newEnv(t)
	e.login()
	mid := e.emu.Send(bob, carol, "are you there?")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "are you there?")
	e.emu.Typing(bob, carol)
	e.h.WaitFor("bob's typing in Matrix", func() bool {
		for _, ty := range e.h.Matrix.Typing() {
			if ty.RoomID == room && ty.UserID == e.ghost(bob) && ty.Typing {
				return true
			}
		}
		return false
	})
	e.h.SendMatrix(room, carolMX, event.EphemeralEventTyping, &event.TypingEventContent{UserIDs: []id.UserID{carolMX}})
	e.h.WaitFor("carol's typing on Skype", func() bool {
		for _, ty := range e.emu.TypingEvents() {
			if ty.From == "8:"+carol && ty.Conv == "8:"+bob && !ty.Stop {
				return true
			}
		}
		return false
	})
	evt := e.h.Matrix.Messages(room)[0].ID
	e.h.SendMatrix(room, carolMX, event.EphemeralEventReceipt, &event.ReceiptEventContent{
		evt: {event.ReceiptTypeRead: {carolMX: {Timestamp: time.Now()}}},
	})
	var cmid string
	for _, m := range e.emu.Messages(carol, bob) {
		if m.ID == mid {
			cmid = m.ClientMessageID
		}
	}
	e.h.WaitFor("carol's consumption horizon", func() bool {
		return strings.HasPrefix(e.emu.Horizon(carol, bob), cmid+";")
	})
}

func TestMentionsRepliesAndEmoticons(t *testing.T) {
	e := newEnv(t)
	e.login()
	group := e.emu.CreateGroup(alice, "Team", carol, bob)
	first := e.emu.Send(bob, group, "first")
	groupRoom := e.h.PortalRoom(e.portal(group))
	e.waitTexts(groupRoom, e.ghost(bob), "first")
	e.emu.Send(alice, group, `hey <at id="8:live:carol">Carol</at> <ss type="smile">:)</ss>`)
	e.h.WaitFor("alice's mention", func() bool { return len(e.texts(groupRoom, e.ghost(alice))) == 1 })
	msg := e.h.Matrix.Messages(groupRoom)
	got := msg[len(msg)-1].Message()
	if got.Mentions == nil || len(got.Mentions.UserIDs) != 1 || got.Mentions.UserIDs[0] != carolMX {
		t.Fatalf("mentions %+v in %q", got.Mentions, got.FormattedBody)
	}
	if !strings.Contains(got.Body, "🙂") && !strings.Contains(got.Body, "😊") {
		t.Fatalf("the emoticon did not become an emoji: %q", got.Body)
	}

	// Matrix → Skype: a reply mentioning bob's ghost.
	var firstEvt id.EventID
	for _, m := range e.h.Matrix.Messages(groupRoom) {
		if m.Sender == e.ghost(bob) {
			firstEvt = m.ID
		}
	}
	pill := `<a href="https://matrix.to/#/` + string(e.ghost(bob)) + `">Bob Brown</a>`
	e.h.SendMatrix(groupRoom, carolMX, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgText, Body: "Bob Brown: agreed", Format: event.FormatHTML, FormattedBody: pill + ": <b>agreed</b>",
		Mentions:  &event.Mentions{UserIDs: []id.UserID{e.ghost(bob)}},
		RelatesTo: &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: firstEvt}},
	})
	sent := e.sentBy(carol, 1)[0]
	if !strings.Contains(sent.Content, `<at id="8:bob.2">`) || sent.HasMentions != "true" {
		t.Fatalf("mention not sent: %+v", sent)
	}
	if !strings.Contains(sent.Content, "<quote") || !strings.Contains(sent.Content, `author="bob.2"`) || !strings.Contains(sent.Content, "first") {
		t.Fatalf("reply not sent as a quote: %q", sent.Content)
	}
	if !strings.Contains(sent.Content, `<b raw_pre="*" raw_post="*">agreed</b>`) {
		t.Fatalf("bold not converted: %q", sent.Content)
	}
	// Skype → Matrix: a quote of a bridged message becomes a Matrix reply.
	var cmid string
	for _, m := range e.emu.Messages(carol, group) {
		if m.ID == first {
			cmid = m.ClientMessageID
		}
	}
	e.emu.Send(alice, group, `<quote author="bob.2" authorname="Bob Brown" conversation="`+group+`" timestamp="1" messageid="`+cmid+`"><legacyquote>[1] Bob Brown: </legacyquote>first<legacyquote>&lt;&lt;&lt; </legacyquote></quote>me too`)
	e.h.WaitFor("alice's reply", func() bool { return len(e.texts(groupRoom, e.ghost(alice))) == 2 })
	msg = e.h.Matrix.Messages(groupRoom)
	reply := msg[len(msg)-1].Message()
	if reply.RelatesTo == nil || reply.RelatesTo.GetReplyTo() != firstEvt || strings.TrimSpace(reply.Body) != "me too" {
		t.Fatalf("quote not bridged as a reply: %+v body %q", reply.RelatesTo, reply.Body)
	}
}

func TestFilesBothWays(t *testing.T) {
	e := newEnv(t)
	e.login()
	bobAPI := e.skypeUser(bob, "bob-pw")
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...)
	if _, err := bobAPI.SendFile(e.h.Ctx, "8:"+carol, true, "cat.png", png, []string{"8:" + bob, "8:" + carol}); err != nil {
		t.Fatal(err)
	}
	room := e.dmRoom(bob)
	e.h.WaitFor("bob's image", func() bool { return len(e.texts(room, e.ghost(bob))) == 1 })
	img := e.h.Matrix.Messages(room)[0].Message()
	data, ok := e.h.Matrix.Media(img.URL)
	if img.MsgType != event.MsgImage || !ok || !bytes.Equal(data, png) {
		t.Fatalf("image: %+v (stored %v)", img, ok)
	}

	doc := []byte("quarterly numbers")
	uri := e.h.Matrix.PutMedia(doc)
	evt := e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgFile, Body: "q3.txt", FileName: "q3.txt", URL: uri})
	sent := e.sentBy(carol, 1)[0]
	if sent.Type != skypeapi.TypeFile || len(sent.AMSRefs) != 1 {
		t.Fatalf("file message: %+v", sent)
	}
	got, name, ok := e.emu.Object(sent.AMSRefs[0])
	if !ok || name != "q3.txt" || !bytes.Equal(got, doc) {
		t.Fatalf("ASM object %q %q %v", name, got, ok)
	}
	if st := e.status(evt); st.Status != event.MessageStatusSuccess {
		t.Fatalf("file status %+v", st)
	}
}

// 429 and 5xx are retried with the same clientmessageid: one message on
// Skype. A send Skype refuses for good fails with the reason.
func TestSendRetriesIdempotentlyAndFailsWithReason(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	e.emu.FailNext("POST", "/messages", 503, 503, 1)
	e.emu.FailNextWithRetryAfter("POST", "/messages", 429, 429, 1, "0")
	evt := e.h.SendText(room, carolMX, "retried")
	if st := e.status(evt); st.Status != event.MessageStatusSuccess {
		t.Fatalf("status %+v", st)
	}
	sent := e.sentBy(carol, 1)
	if sent[0].Content != "retried" {
		t.Fatalf("sent %+v", sent)
	}
	e.emu.FailNext("POST", "/messages", 403, 403, 1)
	evt = e.h.SendText(room, carolMX, "refused")
	st := e.status(evt)
	if st.Status == event.MessageStatusSuccess || !strings.Contains(st.Message+string(st.Reason)+st.Error, "Skype refused") {
		t.Fatalf("refused send status %+v", st)
	}
	e.sentBy(carol, 1)
}

// A short homeserver hiccup is retried in place, keeping the order; an
// event that keeps failing stays un-acked and is bridged when Skype
// delivers it again: nothing lost, nothing doubled.
func TestFailedEventIsRetriedThenRedelivered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		refusals int
		ordered  bool
	}{{"hiccup", queueAttempts - 1, true}, {"redelivery", queueAttempts + 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.login()
			e.emu.Send(bob, carol, "one")
			room := e.dmRoom(bob)
			e.waitTexts(room, e.ghost(bob), "one")
			var mu sync.Mutex
			refusals := 0
			e.h.Matrix.SetSendFault(func(roomID id.RoomID, sender id.UserID, content *event.Content) (bool, error) {
				mu.Lock()
				defer mu.Unlock()
				if mc, ok := content.Parsed.(*event.MessageEventContent); ok && mc.Body == "two" && refusals < tc.refusals {
					refusals++
					return false, errors.New("homeserver down")
				}
				return true, nil
			})
			e.emu.Send(bob, carol, "two")
			e.emu.Send(bob, carol, "three")
			if tc.ordered {
				e.waitTexts(room, e.ghost(bob), "one", "two", "three")
			} else {
				e.h.WaitFor("two and three, once each", func() bool {
					got := e.texts(room, e.ghost(bob))
					sort.Strings(got)
					return strings.Join(got, ",") == "one,three,two"
				})
			}
			e.emu.Send(bob, carol, "four")
			e.h.WaitFor("four", func() bool { return len(e.texts(room, e.ghost(bob))) == 4 })
			mu.Lock()
			defer mu.Unlock()
			if refusals != tc.refusals {
				t.Fatalf("%d refusals, want %d", refusals, tc.refusals)
			}
		})
	}
}

// A lost endpoint mid-session is re-registered and the gap filled from
// history.
func TestLostEndpointIsCaughtUp(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	e.emu.Send(bob, carol, "before")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "before")
	regs := c.api.Registrations()
	e.emu.DropEndpoints(carol)
	e.emu.Send(bob, carol, "lost with the endpoint")
	e.waitTexts(room, e.ghost(bob), "before", "lost with the endpoint")
	if c.api.Registrations() == regs {
		t.Fatal("no new registration")
	}
	e.emu.Send(bob, carol, "after")
	e.waitTexts(room, e.ghost(bob), "before", "lost with the endpoint", "after")
}

// The homeserver stores a message but its answer is lost: the retry finds
// the message in the room and does not send it a second time.
func TestLostHomeserverAnswerIsNotDoubled(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "one")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "one")
	var mu sync.Mutex
	lost := 0
	e.h.Matrix.SetSendFault(func(roomID id.RoomID, sender id.UserID, content *event.Content) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if mc, ok := content.Parsed.(*event.MessageEventContent); ok && mc.Body == "two" && lost == 0 {
			lost++
			return true, errors.New("connection reset after the homeserver stored the event")
		}
		return true, nil
	})
	e.emu.Send(bob, carol, "two")
	e.emu.Send(bob, carol, "three")
	e.waitTexts(room, e.ghost(bob), "one", "two", "three")
	mu.Lock()
	defer mu.Unlock()
	if lost != 1 {
		t.Fatalf("the fault fired %d times", lost)
	}
}

func TestEmoteBothWays(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.emu.Send(bob, carol, "hi")
	room := e.dmRoom(bob)
	e.waitTexts(room, e.ghost(bob), "hi")
	e.h.SendMatrix(room, carolMX, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves"})
	sent := e.sentBy(carol, 1)[0]
	if sent.Content != "Carol Clark waves" || sent.EmoteOffset != "12" {
		t.Fatalf("emote sent as %+v", sent)
	}
}

// An image embedded in a RichText body (an <img> naming an ASM object)
// becomes an image in Matrix beside the text; one the bridge cannot fetch
// becomes a notice, never nothing.
func TestInlineImageInRichText(t *testing.T) {
	e := newEnv(t)
	e.login()
	bobAPI := e.skypeUser(bob, "bob-pw")
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{2}, 64)...)
	objID, objURI, err := bobAPI.Upload(e.h.Ctx, "pish/image", "pic.png", png, []string{"8:" + bob, "8:" + carol})
	if err != nil {
		t.Fatal(err)
	}
	e.emu.SendTyped(bob, "8:"+carol, "RichText", `look <img src="`+objURI+`/views/imgo" itemtype="http://schema.skype.com/AMSImage" id="`+objID+`" alt="pic.png">`)
	room := e.dmRoom(bob)
	e.h.WaitFor("bob's text and image", func() bool { return len(e.texts(room, e.ghost(bob))) == 2 })
	msgs := e.h.Matrix.Messages(room)
	text, img := msgs[0].Message(), msgs[1].Message()
	if strings.TrimSpace(text.Body) != "look" {
		t.Errorf("text part %q", text.Body)
	}
	data, ok := e.h.Matrix.Media(img.URL)
	if img.MsgType != event.MsgImage || !ok || !bytes.Equal(data, png) {
		t.Fatalf("inline image: %+v (stored %v)", img, ok)
	}

	e.emu.SendTyped(bob, "8:"+carol, "RichText", `<img src="`+e.emu.URL()+`/v1/objects/0-missing/views/imgo" itemtype="http://schema.skype.com/AMSImage" id="0-missing">`)
	e.h.WaitFor("a notice for the missing image", func() bool { return len(e.texts(room, e.ghost(bob))) == 3 })
	msgs = e.h.Matrix.Messages(room)
	if n := msgs[len(msgs)-1].Message(); n.MsgType != event.MsgNotice || !strings.Contains(n.Body, "could not fetch") {
		t.Fatalf("missing image: %+v", n)
	}
}
