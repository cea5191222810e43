package chatsvc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// mintingSource re-mints a skypetoken from the emulator when invalidated,
// like the Teams token manager does.
type mintingSource struct {
	mu          sync.Mutex
	emu         *teamsemu.Emulator
	mri         string
	tok         string
	invalidated int
}

func (s *mintingSource) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == "" {
		s.tok = s.emu.MintSkypeToken(s.mri)
	}
	return s.tok, nil
}

func (s *mintingSource) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == s.tok {
		s.tok = ""
		s.invalidated++
	}
}

type env struct {
	emu        *teamsemu.Emulator
	alice, bob *teamsemu.User
	carol      *teamsemu.User
	client     *chatsvc.Client
	src        *mintingSource
	mu         sync.Mutex
	sleeps     []time.Duration
}

func newEnv(t *testing.T) *env {
	t.Helper()
	emu := teamsemu.New(teamsemu.Options{})
	emu.Start()
	t.Cleanup(emu.Close)
	e := &env{emu: emu, alice: emu.AddUser("alice@contoso.com", "Alice Adams"), bob: emu.AddUser("bob@contoso.com", "Bob Brown"),
		carol: emu.AddUser("carol@contoso.com", "Carol Clark")}
	e.client = e.clientFor(t, e.alice)
	return e
}

func (e *env) clientFor(t *testing.T, u *teamsemu.User) *chatsvc.Client {
	t.Helper()
	src := &mintingSource{emu: e.emu, mri: u.MRI}
	if e.src == nil {
		e.src = src
	}
	c, err := chatsvc.New(chatsvc.Config{
		BaseURL: e.emu.URL(), AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
		Tokens: src, AllowInsecureHTTP: true,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			e.mu.Unlock()
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) recordedSleeps() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

func TestNewRefusesInsecureAndBadConfig(t *testing.T) {
	t.Parallel()
	_, err := chatsvc.New(chatsvc.Config{BaseURL: "http://127.0.0.1:1", AuthHeader: "Authentication", Tokens: chatsvc.StaticToken("x")})
	if err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Fatalf("plain http without the switch: %v", err)
	}
	if _, err := chatsvc.New(chatsvc.Config{BaseURL: "https://x", Tokens: chatsvc.StaticToken("x")}); err == nil {
		t.Fatal("missing auth header accepted")
	}
	if _, err := chatsvc.New(chatsvc.Config{BaseURL: "ftp://x", AuthHeader: "A", Tokens: chatsvc.StaticToken("x")}); err == nil {
		t.Fatal("ftp accepted")
	}
}

func TestSendAndHistoryRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := e.emu.CreateGroup(e.alice.MRI, "Project", e.bob.MRI)
	res, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "<p>Hello <b>world</b></p>", DisplayName: "Alice Adams", ClientMessageID: "1769191432001"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || res.ClientMessageID != "1769191432001" || res.OriginalArrivalTime.IsZero() {
		t.Fatalf("send result %+v", res)
	}
	sent := e.emu.MessagesFrom(e.alice.MRI)
	if len(sent) != 1 || sent[0].ID != res.ID || sent[0].Content != "<p>Hello <b>world</b></p>" || sent[0].MessageType != "RichText/Html" || sent[0].DisplayName != "Alice Adams" {
		t.Fatalf("emulator saw %+v", sent)
	}
	// The body is the minimal six-field set the reference recommends.
	posts := e.emu.Requests("/messages")
	last := posts[len(posts)-1].Body
	for _, forbidden := range []string{`"type"`, `"from"`, `"composetime"`, `"conversationid"`} {
		if strings.Contains(last, forbidden) {
			t.Fatalf("send body carries %s: %s", forbidden, last)
		}
	}
	if h := posts[len(posts)-1].Header.Get("Authentication"); !strings.HasPrefix(h, "skypetoken=") {
		t.Fatalf("auth header %q", h)
	}
	if p := posts[len(posts)-1].Path; !strings.Contains(p, "/conversations/19:") {
		t.Fatalf("path %q", p)
	}
	// Path escaping: the raw request used %3A/%40.
	bobID := e.emu.Send(e.bob.MRI, chat, "<p>hi Alice</p>")
	msgs, err := e.client.History(ctx, chat, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || string(msgs[0].ID) != bobID || msgs[0].Sender() != e.bob.MRI || msgs[1].Sender() != e.alice.MRI {
		t.Fatalf("history %+v", msgs)
	}
	conv, root := msgs[0].Conversation()
	if conv != chat || root != "" {
		t.Fatalf("conversation of message: %q %q", conv, root)
	}
	one, err := e.client.Message(ctx, chat, bobID)
	if err != nil || one.Content != "<p>hi Alice</p>" || one.IMDisplayName != "Bob Brown" {
		t.Fatalf("one message: %+v %v", one, err)
	}
	if _, err := e.client.Message(ctx, chat, "1"); !errors.Is(err, chatsvc.ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
}

func TestSendRetriesIdempotentlyOn429And5xx(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, retryAfter string
		status           int
		wantWait         time.Duration
	}{
		{"seconds", "2", 429, 2 * time.Second},
		{"http-date", time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), 429, 89 * time.Second},
		{"server error", "", 503, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
			// Faults fire before the handler: the failed attempts never land.
			f := e.emu.InjectFault(teamsemu.Fault{Method: "POST", PathContains: "/messages", Status: tc.status, RetryAfter: tc.retryAfter, Times: 2})
			c := e.client
			if tc.name == "http-date" {
				var err error
				c, err = chatsvc.New(chatsvc.Config{BaseURL: e.emu.URL(), AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
					Tokens: e.src, AllowInsecureHTTP: true, Retry: chatsvc.RetryPolicy{MaxRetryAfter: 5 * time.Minute},
					Sleep: func(ctx context.Context, d time.Duration) error {
						e.mu.Lock()
						e.sleeps = append(e.sleeps, d)
						e.mu.Unlock()
						return nil
					}})
				if err != nil {
					t.Fatal(err)
				}
			}
			res, err := c.Send(context.Background(), chat, chatsvc.Outgoing{Content: "once", ClientMessageID: "42"})
			if err != nil {
				t.Fatal(err)
			}
			if e.emu.FaultHits(f) != 2 {
				t.Fatalf("fault hit %d times", e.emu.FaultHits(f))
			}
			sleeps := e.recordedSleeps()
			if len(sleeps) != 2 {
				t.Fatalf("slept %v", sleeps)
			}
			if tc.wantWait > 0 && (sleeps[0] < tc.wantWait || sleeps[0] > tc.wantWait+2*time.Second) {
				t.Fatalf("waited %v, want about %v", sleeps[0], tc.wantWait)
			}
			if tc.wantWait == 0 && (sleeps[0] <= 0 || sleeps[1] <= sleeps[0]/2) {
				t.Fatalf("backoff %v should grow", sleeps)
			}
			posts := e.emu.Requests("/messages")
			if len(posts) != 3 {
				t.Fatalf("%d POSTs", len(posts))
			}
			for _, p := range posts {
				if !strings.Contains(p.Body, `"clientmessageid":"42"`) {
					t.Fatalf("retry changed the clientmessageid: %s", p.Body)
				}
			}
			if got := e.emu.MessagesFrom(e.alice.MRI); len(got) != 1 || got[0].ID != res.ID {
				t.Fatalf("messages stored: %+v", got)
			}
		})
	}
}

func TestResendOfStoredMessageDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	ctx := context.Background()
	a, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "x", ClientMessageID: "777"})
	if err != nil {
		t.Fatal(err)
	}
	// An answer lost in transit: the caller sends again with the same id.
	b, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "x", ClientMessageID: "777"})
	if err != nil || a.ID != b.ID {
		t.Fatalf("resend: %v %v %v", a, b, err)
	}
	if n := len(e.emu.MessagesFrom(e.alice.MRI)); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestRetryGivesUpWithTypedErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	ctx := context.Background()
	e.emu.InjectFault(teamsemu.Fault{PathContains: "/messages", Status: 429, RetryAfter: "3600", Times: 1})
	_, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "x"})
	var ce *chatsvc.Error
	if !errors.Is(err, chatsvc.ErrRateLimited) || !errors.As(err, &ce) || ce.RetryAfter != time.Hour {
		t.Fatalf("long Retry-After: %v", err)
	}
	if len(e.recordedSleeps()) != 0 {
		t.Fatal("slept on a Retry-After beyond the policy")
	}
	e.emu.InjectFault(teamsemu.Fault{PathContains: "/messages", Status: 502, Times: 10})
	if _, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "x"}); !errors.Is(err, chatsvc.ErrServer) {
		t.Fatalf("5xx after all attempts: %v", err)
	}
	e.emu.ClearFaults()
	e.emu.InjectFault(teamsemu.Fault{PathContains: "/messages", Status: 400, Body: `{"errorCode":"BadArgument","message":"Failure due to: BlockedContent"}`, Times: 1})
	_, err = e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "x"})
	if !errors.Is(err, chatsvc.ErrBadRequest) || !errors.As(err, &ce) || ce.Code != "BadArgument" || !strings.Contains(ce.Message, "BlockedContent") {
		t.Fatalf("400: %v", err)
	}
	e.emu.InjectFault(teamsemu.Fault{PathContains: "/messages", Status: 403, Body: `{"type":"https://x/problem","title":"Forbidden","detail":"not allowed","status":403}`, Times: 1})
	_, err = e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "x"})
	if !errors.Is(err, chatsvc.ErrForbidden) || !errors.As(err, &ce) || ce.Message != "not allowed" {
		t.Fatalf("problem+json: %v", err)
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.client.Send(ctxDone, chat, chatsvc.Outgoing{Content: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestExpiredSkypetokenIsReMintedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	ctx := context.Background()
	if _, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "a"}); err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireSkypeTokens(e.alice.MRI)
	if _, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "b"}); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if e.src.invalidated != 1 {
		t.Fatalf("invalidated %d times", e.src.invalidated)
	}
	// A credential that stays bad ends in ErrUnauthorized after one re-mint.
	c, _ := chatsvc.New(chatsvc.Config{BaseURL: e.emu.URL(), AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
		Tokens: chatsvc.StaticToken("bogus"), AllowInsecureHTTP: true})
	if _, err := c.Send(ctx, chat, chatsvc.Outgoing{Content: "c"}); !errors.Is(err, chatsvc.ErrUnauthorized) {
		t.Fatalf("bad token: %v", err)
	}
	if n := len(e.emu.MessagesFrom(e.alice.MRI)); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

func TestEditDeleteReact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	res, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: "<p>typo</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.Edit(ctx, chat, res.ID, chatsvc.Outgoing{Content: "<p>fixed</p>", DisplayName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	m, err := e.client.Message(ctx, chat, res.ID)
	if err != nil || m.Content != "<p>fixed</p>" || !m.IsEdited() || m.EditTime().IsZero() || m.IsDeleted() {
		t.Fatalf("edited: %+v %v", m, err)
	}
	bobMsg := e.emu.Send(e.bob.MRI, chat, "<p>bob's</p>")
	if err := e.client.Edit(ctx, chat, bobMsg, chatsvc.Outgoing{Content: "hijack"}); !errors.Is(err, chatsvc.ErrForbidden) {
		t.Fatalf("editing another's message: %v", err)
	}
	if err := e.client.AddReaction(ctx, chat, bobMsg, "like"); err != nil {
		t.Fatal(err)
	}
	e.emu.React(e.bob.MRI, chat, bobMsg, "heart")
	m, _ = e.client.Message(ctx, chat, bobMsg)
	ems, err := m.Emotions()
	if err != nil || len(ems) != 2 || ems[0].Key != "like" || ems[0].Users[0].MRI != e.alice.MRI || ems[1].Key != "heart" {
		t.Fatalf("emotions %+v %v", ems, err)
	}
	if err := e.client.RemoveReaction(ctx, chat, bobMsg, "like"); err != nil {
		t.Fatal(err)
	}
	m, _ = e.client.Message(ctx, chat, bobMsg)
	if ems, _ := m.Emotions(); len(ems) != 1 || ems[0].Key != "heart" {
		t.Fatalf("after removal %+v", ems)
	}
	if got := e.emu.Messages(chat)[1].Reactions; len(got["like"]) != 0 || len(got["heart"]) != 1 {
		t.Fatalf("emulator reactions %v", got)
	}
	if err := e.client.Delete(ctx, chat, res.ID); err != nil {
		t.Fatal(err)
	}
	m, _ = e.client.Message(ctx, chat, res.ID)
	if !m.IsDeleted() || m.Content != "" || m.DeleteTime().IsZero() {
		t.Fatalf("deleted: %+v", m)
	}
	deletes := 0
	for _, q := range e.emu.Requests("/messages/" + res.ID) {
		if q.Method == http.MethodDelete {
			deletes++
			if q.Query != "behavior=softDelete" {
				t.Fatalf("delete query %q", q.Query)
			}
		}
	}
	if deletes != 1 {
		t.Fatalf("%d DELETEs", deletes)
	}
}

func TestMentionsAndReplyQuote(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI, e.carol.MRI)
	orig := e.emu.SendText(e.bob.MRI, chat, "lunch?")
	// The reply and mention markup of the reference (§2.4); msgfmt writes
	// and reads it, this test checks that it survives the wire unchanged.
	quote := `<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="` + orig + `"><strong itemprop="mri" itemid="` + e.bob.MRI +
		`">Bob Brown</strong><span itemprop="time" itemid="` + orig + `"></span><p itemprop="preview">lunch?</p></blockquote>`
	content := quote + `<p><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">Bob Brown</span> and ` +
		`<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="1">Carol Clark</span>: yes</p>`
	res, err := e.client.Send(ctx, chat, chatsvc.Outgoing{Content: content, Mentions: []chatsvc.Mention{
		{ItemID: "0", MRI: e.bob.MRI, DisplayName: "Bob Brown"}, {ItemID: "1", MRI: e.carol.MRI, DisplayName: "Carol Clark"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The mentions property goes out as a JSON string, as the web client sends it.
	sent := e.emu.MessagesFrom(e.alice.MRI)[0]
	if s, ok := sent.Properties["mentions"].(string); !ok || !strings.Contains(s, `"mri":"`+e.carol.MRI+`"`) || !strings.Contains(s, MentionSchemaJSON) {
		t.Fatalf("mentions property %#v", sent.Properties["mentions"])
	}
	m, _ := e.client.Message(ctx, chat, res.ID)
	ms, err := m.Mentions()
	if err != nil || len(ms) != 2 {
		t.Fatalf("mentions %+v %v", ms, err)
	}
	if ms[0].ItemID.Int() != 0 || ms[1].ItemID.Int() != 1 || ms[1].MRI != e.carol.MRI || ms[1].MentionType != "person" || ms[1].DisplayName != "Carol Clark" {
		t.Fatalf("mentions %+v", ms)
	}
	if m.Content != content {
		t.Fatalf("content changed on the wire:\n sent %s\n got  %s", content, m.Content)
	}
}

const MentionSchemaJSON = `"@type":"http://schema.skype.com/Mention"`

func TestTypingAndHorizons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	if err := e.client.Typing(ctx, chat); err != nil {
		t.Fatal(err)
	}
	if ev := e.emu.TypingEvents(); len(ev) != 1 || ev[0].From != e.alice.MRI || ev[0].Conversation != chat {
		t.Fatalf("typing %+v", ev)
	}
	if body := e.emu.Requests("/messages")[0].Body; !strings.Contains(body, `"contenttype":"Application/Message"`) {
		t.Fatalf("typing body %s", body)
	}
	if n := len(e.emu.Messages(chat)); n != 0 {
		t.Fatalf("typing stored as a message: %d", n)
	}
	id := e.emu.SendText(e.bob.MRI, chat, "read me")
	now := time.UnixMilli(1769191500000)
	if err := e.client.SetConsumptionHorizon(ctx, chat, chatsvc.Horizon{MessageID: id, Time: now, Third: id}); err != nil {
		t.Fatal(err)
	}
	if h := e.emu.Horizon(e.alice.MRI, chat); h != id+";1769191500000;"+id {
		t.Fatalf("horizon %q", h)
	}
	e.emu.Read(e.bob.MRI, chat, id)
	hs, err := e.client.ConsumptionHorizons(ctx, chat)
	if err != nil || len(hs) != 2 {
		t.Fatalf("horizons %+v %v", hs, err)
	}
	for _, h := range hs {
		if h.Horizon.MessageID != id || h.Horizon.Time.IsZero() {
			t.Fatalf("horizon %+v", h)
		}
	}
	conv, err := e.client.Conversation(ctx, chat)
	if err != nil || conv.Horizon().MessageID != id {
		t.Fatalf("own horizon from the conversation: %+v %v", conv, err)
	}
}

func TestThreadsCreateMembersTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id, err := e.client.CreateThread(ctx, chatsvc.NewThread{Self: e.alice.MRI, Members: []string{e.bob.MRI}, Topic: "Plans"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "19:") || e.emu.Topic(id) != "Plans" {
		t.Fatalf("thread %q topic %q", id, e.emu.Topic(id))
	}
	if err := e.client.AddMember(ctx, id, e.carol.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.client.SetTopic(ctx, id, "Plans B"); err != nil {
		t.Fatal(err)
	}
	th, err := e.client.Thread(ctx, id)
	if err != nil || len(th.Members) != 3 || th.Topic() != "Plans B" || th.IsOneToOne() {
		t.Fatalf("thread %+v %v", th, err)
	}
	if err := e.client.RemoveMember(ctx, id, e.bob.MRI); err != nil {
		t.Fatal(err)
	}
	if _, in := e.emu.Members(id)[e.bob.MRI]; in {
		t.Fatal("bob still a member")
	}
	// The thread activity messages parse.
	hist, _ := e.client.History(ctx, id, time.Time{}, 50)
	var kinds []string
	for _, m := range hist {
		a, err := chatsvc.ParseThreadActivity(&m)
		if err != nil {
			t.Fatalf("activity %q: %v", m.Content, err)
		}
		kinds = append(kinds, a.Type)
		if a.Type == "DeleteMember" && (len(a.Targets) != 1 || a.Targets[0].MRI != e.bob.MRI || a.Initiator != e.alice.MRI) {
			t.Fatalf("delete member %+v", a)
		}
		if a.Type == "TopicUpdate" && a.Value != "Plans B" {
			t.Fatalf("topic %+v", a)
		}
	}
	if strings.Join(kinds, ",") != "DeleteMember,TopicUpdate,AddMember" {
		t.Fatalf("activities %v", kinds)
	}
	one, err := e.client.CreateThread(ctx, chatsvc.NewThread{Self: e.alice.MRI, Members: []string{e.bob.MRI}, OneToOne: true})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CreateThread(ctx, chatsvc.NewThread{Self: e.alice.MRI, Members: []string{e.bob.MRI}, OneToOne: true})
	if err != nil || again != one {
		t.Fatalf("1:1 created twice: %q %q %v", one, again, err)
	}
	th, _ = e.client.Thread(ctx, one)
	if !th.IsOneToOne() {
		t.Fatalf("1:1 thread %+v", th.Properties)
	}
	if err := e.client.AddMember(ctx, one, e.carol.MRI, "User"); !errors.Is(err, chatsvc.ErrForbidden) {
		t.Fatalf("adding to a fixed roster: %v", err)
	}
	if _, err := e.client.Thread(ctx, "48:notes"); !errors.Is(err, chatsvc.ErrBadRequest) {
		t.Fatalf("48:notes thread: %v", err)
	}
}

func TestWorkOneToOneIsCreatedByFirstMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.alice.OID, e.bob.OID
	if a > b {
		a, b = b, a
	}
	id := "19:" + a + "_" + b + "@unq.gbl.spaces"
	if _, err := e.client.Send(context.Background(), id, chatsvc.Outgoing{Content: "hi"}); err != nil {
		t.Fatal(err)
	}
	conv, err := e.client.Conversation(context.Background(), id)
	if err != nil || !conv.IsOneToOne() {
		t.Fatalf("%+v %v", conv, err)
	}
}

func TestConversationsPagedBySyncState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var made []string
	for i := 0; i < 7; i++ {
		id := e.emu.CreateGroup(e.bob.MRI, "g", e.alice.MRI)
		e.emu.SendText(e.bob.MRI, id, "x")
		made = append(made, id)
	}
	page, err := e.client.Conversations(ctx, chatsvc.ConversationsQuery{PageSize: 3})
	if err != nil || len(page.Conversations) != 3 || page.SyncState == "" {
		t.Fatalf("page 1 %+v %v", page, err)
	}
	if page.Conversations[0].ID != made[6] || page.Conversations[0].LastMessage == nil {
		t.Fatalf("newest first: %s", page.Conversations[0].ID)
	}
	all, err := e.client.AllConversations(ctx, chatsvc.ConversationsQuery{PageSize: 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 7 groups + 48:notes.
	if len(all) != 8 {
		t.Fatalf("%d conversations", len(all))
	}
	notes := 0
	for _, c := range all {
		if c.IsSystemFeed() {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("notes feeds: %d", notes)
	}
	since := time.UnixMilli(page.Conversations[0].Version.Int() + 1)
	e.emu.SendText(e.bob.MRI, made[2], "new")
	changed, err := e.client.Conversations(ctx, chatsvc.ConversationsQuery{StartTime: since})
	if err != nil || len(changed.Conversations) != 1 || changed.Conversations[0].ID != made[2] {
		t.Fatalf("changed since: %+v %v", changed, err)
	}
}

func TestMessagesSinceAndHistoryPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := e.emu.CreateGroup(e.bob.MRI, "", e.alice.MRI)
	var ids []string
	for i := 0; i < 25; i++ {
		ids = append(ids, e.emu.SendText(e.bob.MRI, chat, "m"))
	}
	hist, err := e.client.History(ctx, chat, time.Time{}, 12)
	if err != nil || len(hist) != 12 || string(hist[0].ID) != ids[24] || string(hist[11].ID) != ids[13] {
		t.Fatalf("history %d %v", len(hist), err)
	}
	older, err := e.client.History(ctx, chat, hist[11].Time(), 100)
	if err != nil || len(older) != 13 || string(older[0].ID) != ids[12] || string(older[12].ID) != ids[0] {
		t.Fatalf("older %d %v", len(older), err)
	}
	cut := hist[11] // ids[13]
	since, err := e.client.MessagesSince(ctx, chat, cut.Time(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 11 || string(since[0].ID) != ids[14] || string(since[10].ID) != ids[24] {
		t.Fatalf("since: %d first %s", len(since), since[0].ID)
	}
	// An edit of an older message counts as news after the cut.
	e.emu.Edit(chat, ids[3], "<p>edited</p>")
	since, _ = e.client.MessagesSince(ctx, chat, since[10].Time(), 4)
	if len(since) != 1 || string(since[0].ID) != ids[3] || !since[0].IsEdited() {
		t.Fatalf("edit since: %+v", since)
	}
}

func TestChannelReplyChains(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	team := e.emu.CreateTeam(e.bob.MRI, "Engineering", []string{"Backend"}, e.alice.MRI)
	ch := team.Channels[1]
	root := e.emu.SendText(e.bob.MRI, ch, "release?")
	res, err := e.client.Send(ctx, chatsvc.ReplyChainID(ch, root), chatsvc.Outgoing{Content: "tomorrow"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.emu.MessagesFrom(e.alice.MRI)
	if len(got) != 1 || got[0].Root != root || got[0].ID != res.ID {
		t.Fatalf("reply %+v", got)
	}
	if reqs := e.emu.Requests("/messages"); !strings.Contains(reqs[len(reqs)-1].Path, ";messageid="+root) {
		t.Fatalf("path %q", reqs[len(reqs)-1].Path)
	}
	msgs, err := e.client.History(ctx, chatsvc.ReplyChainID(ch, root), time.Time{}, 10)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("chain %d %v", len(msgs), err)
	}
	conv, r := msgs[0].Conversation()
	if conv != ch || r != root {
		t.Fatalf("reply's conversation %q root %q", conv, r)
	}
	conv, r = msgs[1].Conversation()
	if conv != ch || r != root {
		t.Fatalf("root's conversation %q root %q (a root is its own chain)", conv, r)
	}
	cs, _ := e.client.AllConversations(ctx, chatsvc.ConversationsQuery{}, 0)
	found := false
	for _, c := range cs {
		if c.ID == ch && c.ThreadType() == "topic" {
			found = true
		}
	}
	if !found {
		t.Fatal("channel missing from conversations")
	}
}

func TestSendWithoutLocationUsesOriginalArrivalTime(t *testing.T) {
	t.Parallel()
	emu := teamsemu.New(teamsemu.Options{OmitLocation: true})
	emu.Start()
	t.Cleanup(emu.Close)
	a, b := emu.AddUser("a@x", "A"), emu.AddUser("b@x", "B")
	c, err := chatsvc.New(chatsvc.Config{BaseURL: emu.URL(), AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
		Tokens: chatsvc.StaticToken(emu.MintSkypeToken(a.MRI)), AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	chat := emu.CreateGroup(a.MRI, "", b.MRI)
	res, err := c.Send(context.Background(), chat, chatsvc.Outgoing{Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := emu.MessagesFrom(a.MRI); len(got) != 1 || got[0].ID != res.ID {
		t.Fatalf("id %q, stored %+v", res.ID, got)
	}
}

// The Skype web API is the same service behind another header: the client
// sends "RegistrationToken: registrationToken=<t>" when configured so.
func TestSkypeHeaderConvention(t *testing.T) {
	t.Parallel()
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("RegistrationToken")
		w.Header().Set("Location", "https://client-s.gateway.messenger.live.com/v1/users/ME/conversations/8:joe.4/messages/1451606400000")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"OriginalArrivalTime":1451606400000}`))
	}))
	t.Cleanup(srv.Close)
	c, err := chatsvc.New(chatsvc.Config{BaseURL: srv.URL, AuthHeader: chatsvc.SkypeAuthHeader, AuthPrefix: chatsvc.SkypeAuthPrefix,
		Tokens: chatsvc.StaticToken("U2ln"), AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), "8:joe.4", chatsvc.Outgoing{MessageType: "RichText", Content: "hi"})
	if err != nil || res.ID != "1451606400000" || got != "registrationToken=U2ln" {
		t.Fatalf("%+v %v header=%q", res, err, got)
	}
}

// The Skype-lineage edit (a POST naming the original by skypeeditedid; empty
// content deletes) goes through the same client, for the Skype connector.
func TestLegacySkypeEditAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := e.emu.CreateGroup(e.alice.MRI, "", e.bob.MRI)
	orig, err := e.client.Send(ctx, chat, chatsvc.Outgoing{MessageType: "RichText", Content: "helo", ClientMessageID: "1451606399999"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Send(ctx, chat, chatsvc.Outgoing{MessageType: "RichText", Content: "hello", SkypeEditedID: "1451606399999"}); err != nil {
		t.Fatal(err)
	}
	posts := e.emu.Requests("/messages")
	if last := posts[len(posts)-1].Body; !strings.Contains(last, `"skypeeditedid":"1451606399999"`) || strings.Contains(last, "clientmessageid") {
		t.Fatalf("legacy edit body %s", last)
	}
	m, _ := e.client.Message(ctx, chat, orig.ID)
	if m.Content != "hello" || !m.IsEdited() || m.SkypeEditedID != "1451606399999" {
		t.Fatalf("after legacy edit %+v", m)
	}
	if _, err := e.client.Send(ctx, chat, chatsvc.Outgoing{MessageType: "RichText", Content: "", SkypeEditedID: "1451606399999"}); err != nil {
		t.Fatal(err)
	}
	m, _ = e.client.Message(ctx, chat, orig.ID)
	if !m.IsDeleted() {
		t.Fatalf("legacy delete %+v", m)
	}
	if n := len(e.emu.MessagesFrom(e.alice.MRI)); n != 1 {
		t.Fatalf("legacy edits created %d messages", n)
	}
}

// A server that keeps handing out links to the same page, or ignores
// endTime, must not make the client loop.
func TestPagingTerminatesOnMisbehavingServer(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		link := "https://elsewhere.example/v1/x?syncState=s" + strconv.Itoa(int(n))
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/messages") {
			fmt.Fprintf(w, `{"messages":[{"id":"200","messagetype":"Text","content":"new","originalarrivaltime":"200"},{"id":"100","messagetype":"Text","content":"old","originalarrivaltime":"100"}],"_metadata":{"backwardLink":%q}}`, link)
			return
		}
		fmt.Fprintf(w, `{"conversations":[{"id":"19:a@thread.v2"},{"id":"19:b@thread.v2"}],"_metadata":{"backwardLink":%q}}`, link)
	}))
	t.Cleanup(srv.Close)
	c, err := chatsvc.New(chatsvc.Config{BaseURL: srv.URL, AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
		Tokens: chatsvc.StaticToken("t"), AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.AllConversations(context.Background(), chatsvc.ConversationsQuery{PageSize: 2}, 0)
	if err != nil || len(all) != 2 || calls.Load() != 2 {
		t.Fatalf("%d conversations in %d calls: %v", len(all), calls.Load(), err)
	}
	calls.Store(0)
	hist, err := c.History(context.Background(), "19:a@thread.v2", time.UnixMilli(150), 10)
	if err != nil || len(hist) != 1 || hist[0].Content != "old" || calls.Load() != 2 {
		t.Fatalf("history %+v in %d calls: %v", hist, calls.Load(), err)
	}
	// The links named another host: every request still went to ours.
	calls.Store(0)
	since, err := c.MessagesSince(context.Background(), "19:a@thread.v2", time.UnixMilli(150), 2)
	if err != nil || len(since) != 1 || since[0].Content != "new" || calls.Load() != 1 {
		t.Fatalf("since %+v in %d calls: %v", since, calls.Load(), err)
	}
}

// A connection dropped before the answer is retried with the same body.
func TestTransportErrorIsRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if calls.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"OriginalArrivalTime":1769191432285}`))
	}))
	t.Cleanup(srv.Close)
	c, _ := chatsvc.New(chatsvc.Config{BaseURL: srv.URL, AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
		Tokens: chatsvc.StaticToken("t"), AllowInsecureHTTP: true, Sleep: func(context.Context, time.Duration) error { return nil }})
	res, err := c.Send(context.Background(), "19:a@thread.v2", chatsvc.Outgoing{Content: "x", ClientMessageID: "9"})
	if err != nil || res.ID != "1769191432285" || calls.Load() != 2 {
		t.Fatalf("%+v %v calls=%d", res, err, calls.Load())
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("retry changed the body: %s / %s", bodies[0], bodies[1])
	}
}
