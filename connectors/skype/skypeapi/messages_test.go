package skypeapi_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

func TestSendEditDelete(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	res, err := c.Send(ctx, "8:bob.2", skypeapi.Outgoing{Content: chatsvc.SkypeBold("hi") + " " + chatsvc.SkypeMention("8:bob.2", "Bob"), DisplayName: "Alice Adams"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || res.ClientMessageID == "" || res.OriginalArrivalTime.IsZero() {
		t.Fatalf("result %+v", res)
	}
	msgs := e.emu.Messages("bob.2", "live:alice")
	if len(msgs) != 1 || msgs[0].Type != "RichText" || !strings.Contains(msgs[0].Content, `<at id="8:bob.2">Bob</at>`) || msgs[0].From != "8:live:alice" ||
		msgs[0].HasMentions != "true" {
		t.Fatalf("bob sees %+v", msgs)
	}
	if err := c.Edit(ctx, "8:bob.2", res.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	got := e.emu.SentBy("live:alice")
	if len(got) != 1 || got[0].Content != "hello" || !got[0].Edited {
		t.Fatalf("after edit %+v", got)
	}
	if err := c.Delete(ctx, "8:bob.2", res.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.SentBy("live:alice"); !got[0].Deleted {
		t.Fatalf("after delete %+v", got)
	}
	// Editing someone else's message is refused.
	id := e.emu.Send("bob.2", "live:alice", "bob's")
	if err := c.Edit(ctx, "8:bob.2", id, "mine now"); !errors.Is(err, chatsvc.ErrForbidden) {
		t.Fatalf("err = %v", err)
	}
}

func TestLegacyEditAndDelete(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	res, err := c.Send(ctx, "8:bob.2", skypeapi.Outgoing{Content: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LegacyEdit(ctx, "8:bob.2", res.ClientMessageID, "second"); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.SentBy("live:alice"); len(got) != 1 || got[0].Content != "second" {
		t.Fatalf("after legacy edit %+v", got)
	}
	if err := c.LegacyEdit(ctx, "8:bob.2", res.ClientMessageID, ""); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.SentBy("live:alice"); !got[0].Deleted {
		t.Fatalf("after legacy delete %+v", got)
	}
	if err := c.LegacyEdit(ctx, "8:bob.2", "999", "x"); !errors.Is(err, chatsvc.ErrNotFound) {
		t.Fatalf("edit of an unknown message: %v", err)
	}
}

func TestSendRetriedOn429KeepsClientMessageID(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.emu.FailNext("POST", "/conversations/8:bob.2/messages", http.StatusTooManyRequests, 429, 2)
	before := e.sleepCount()
	res, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "eventually"})
	if err != nil {
		t.Fatal(err)
	}
	if e.sleepCount()-before != 2 {
		t.Fatalf("backoffs = %d, want 2", e.sleepCount()-before)
	}
	sent := e.emu.SentBy("live:alice")
	if len(sent) != 1 || sent[0].ClientMessageID != res.ClientMessageID {
		t.Fatalf("sent %+v", sent)
	}
	// A resend with the same clientmessageid is recognised by the service.
	res2, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "eventually", ClientMessageID: res.ClientMessageID})
	if err != nil || res2.ID != res.ID || len(e.emu.SentBy("live:alice")) != 1 {
		t.Fatalf("resend: %v %+v", err, res2)
	}
	e.emu.FailNext("POST", "/conversations/8:bob.2/messages", http.StatusTooManyRequests, 429, 10)
	if _, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "never"}); !errors.Is(err, chatsvc.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
}

func TestEmote(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	if _, err := c.Send(ctxT(t), "8:bob.2", skypeapi.Outgoing{Content: "waves", DisplayName: "Alice Adams", Emote: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.SentBy("live:alice"); len(got) != 1 || got[0].Content != "Alice Adams waves" || got[0].EmoteOffset != "12" || got[0].HasMentions != "false" {
		t.Fatalf("sent %+v", got)
	}
}

func TestTypingAndReadMarker(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	if err := c.Typing(ctx, "8:bob.2", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Typing(ctx, "8:bob.2", true); err != nil {
		t.Fatal(err)
	}
	ty := e.emu.TypingEvents()
	if len(ty) != 2 || ty[0].Stop || !ty[1].Stop || ty[0].From != "8:live:alice" || ty[0].Conv != "8:bob.2" ||
		ty[0].ContentType != "text" || ty[0].ClientMessageID == "" {
		t.Fatalf("typing %+v", ty)
	}
	id := e.emu.Send("bob.2", "live:alice", "read me")
	msgs := e.emu.Messages("live:alice", "bob.2")
	at := time.UnixMilli(1_700_000_000_123)
	if err := c.MarkRead(ctx, "8:bob.2", msgs[len(msgs)-1].ClientMessageID, at); err != nil {
		t.Fatal(err)
	}
	want := msgs[len(msgs)-1].ClientMessageID + ";1700000000123;" + msgs[len(msgs)-1].ClientMessageID
	if got := e.emu.Horizon("live:alice", "bob.2"); got != want {
		t.Fatalf("horizon %q, want %q (message %s)", got, want, id)
	}
	conv, err := c.Conversations(ctx, chatsvc.ConversationsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	h := conv.Conversations[0].Horizon()
	if h.MessageID != msgs[len(msgs)-1].ClientMessageID || h.Time.UnixMilli() != 1_700_000_000_123 {
		t.Fatalf("listed horizon %+v", h)
	}
}

func TestConversationsPagedBySyncState(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	var groups []string
	for i := 0; i < 5; i++ {
		groups = append(groups, e.emu.CreateGroup("live:alice", "group "+strconv.Itoa(i), "bob.2"))
	}
	page, err := c.Conversations(ctx, chatsvc.ConversationsQuery{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Conversations) != 2 || page.SyncState == "" || page.TotalCount != 5 {
		t.Fatalf("first page %d conversations, syncState %q, total %d", len(page.Conversations), page.SyncState, page.TotalCount)
	}
	if page.Conversations[0].ID != groups[4] || page.Conversations[0].Topic() != "group 4" || page.Conversations[0].IsOneToOne() {
		t.Fatalf("newest first expected: %+v", page.Conversations[0])
	}
	// Something changes between pages: the next page brings it along.
	e.emu.Send("bob.2", groups[0], "news")
	seen := map[string]int{}
	for _, cv := range page.Conversations {
		seen[cv.ID]++
	}
	q := chatsvc.ConversationsQuery{PageSize: 2, SyncState: page.SyncState}
	for q.SyncState != "" {
		p, err := c.Conversations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range p.Conversations {
			seen[cv.ID]++
		}
		q.SyncState = p.SyncState
	}
	for _, g := range groups {
		if seen[g] == 0 {
			t.Fatalf("group %s never listed: %v", g, seen)
		}
	}
	all, err := c.AllConversations(ctx, time.Time{}, 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("all: %v %d", err, len(all))
	}
}

func TestHistoryAndCatchUp(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, e.emu.Send("bob.2", "live:alice", "m"+strconv.Itoa(i)))
	}
	hist, err := c.History(ctx, "8:bob.2", time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 5 || string(hist[0].ID) != ids[6] || string(hist[4].ID) != ids[2] {
		t.Fatalf("history %d, first %s", len(hist), hist[0].ID)
	}
	n, _ := strconv.ParseInt(ids[3], 10, 64)
	since, err := c.MessagesSince(ctx, "8:bob.2", time.UnixMilli(n))
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 3 || string(since[0].ID) != ids[4] || since[2].Content != "m6" || since[0].Sender() != "8:bob.2" {
		t.Fatalf("since %+v", since)
	}
}

func TestGroupThreads(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	id, err := c.CreateGroup(ctx, "Team chat", "8:bob.2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "19:") || !strings.HasSuffix(id, "@thread.skype") {
		t.Fatalf("thread id %q", id)
	}
	if m := e.emu.Members(id); m["8:live:alice"] != "Admin" || m["8:bob.2"] != "User" || e.emu.Topic(id) != "Team chat" {
		t.Fatalf("members %v topic %q", m, e.emu.Topic(id))
	}
	if err := c.SetTopic(ctx, id, "Renamed"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddMember(ctx, id, "8:live:carol", "User"); err != nil {
		t.Fatal(err)
	}
	th, err := c.Thread(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if th.Topic() != "Renamed" || len(th.Members) != 3 || th.IsOneToOne() {
		t.Fatalf("thread %+v", th)
	}
	last := hist0(t, c, id)
	e.emu.Read("bob.2", id, last)
	marks, err := c.ReadMarkers(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var bobMark chatsvc.Horizon
	for _, m := range marks {
		if m.MRI == "8:bob.2" {
			bobMark = m.Horizon
		}
	}
	if bobMark.Time.IsZero() || bobMark.MessageID == "" {
		t.Fatalf("read markers %+v", marks)
	}
	if err := c.RemoveMember(ctx, id, "8:live:carol"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.emu.Members(id)["8:live:carol"]; ok {
		t.Fatal("carol still a member")
	}
	if err := c.Do(ctx, func(chat *chatsvc.Client) error { return chat.SetThreadProperty(ctx, id, "joiningenabled", "false") }); err != nil {
		t.Fatal(err)
	}
	if e.emu.ThreadProperty(id, "joiningenabled") != "false" {
		t.Fatal("property not set")
	}
	// The history holds the activity messages the shared parser reads.
	hist, err := c.History(ctx, id, time.Time{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i := len(hist) - 1; i >= 0; i-- {
		m := hist[i]
		if m.Kind() != chatsvc.KindThreadActivity {
			continue
		}
		a, err := chatsvc.ParseThreadActivity(&m)
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, a.Type+":"+a.Value)
	}
	want := "AddMember:,TopicUpdate:Team chat,TopicUpdate:Renamed,AddMember:,DeleteMember:"
	if strings.Join(kinds, ",") != want {
		t.Fatalf("activities %v, want %s", kinds, want)
	}
	// Leaving: the thread is gone for alice afterwards.
	if err := c.RemoveMember(ctx, id, c.MRI()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Thread(ctx, id); !errors.Is(err, chatsvc.ErrNotFound) {
		t.Fatalf("thread after leaving: %v", err)
	}
}

func TestFilesThroughASM(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	alice, bob := e.alice(), e.bob()
	ctx := ctxT(t)
	img := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 100)
	res, err := alice.SendFile(ctx, "8:bob.2", true, "photo.png", img, []string{"8:bob.2"})
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte("hello file")
	if _, err := alice.SendFile(ctx, "8:bob.2", false, "notes & más.txt", doc, []string{"8:bob.2"}); err != nil {
		t.Fatal(err)
	}
	sent := e.emu.SentBy("live:alice")
	if len(sent) != 2 || sent[0].ID != res.ID || sent[0].Type != "RichText/UriObject" || sent[1].Type != "RichText/Media_GenericFile" {
		t.Fatalf("sent %+v", sent)
	}
	for i, want := range [][]byte{img, doc} {
		o, err := chatsvc.ParseURIObject(sent[i].Content)
		if err != nil {
			t.Fatal(err)
		}
		if len(sent[i].AMSRefs) != 1 || sent[i].AMSRefs[0] != o.DocID || o.FileSize != int64(len(want)) {
			t.Fatalf("object %+v refs %v", o, sent[i].AMSRefs)
		}
		data, _, ok := e.emu.Object(o.DocID)
		if !ok || !bytes.Equal(data, want) {
			t.Fatalf("stored content differs for %s", o.DocID)
		}
		got, err := bob.Download(ctx, o.URI, "original")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("bob's download: %v", err)
		}
		if i == 1 && (o.OriginalName != "notes & más.txt" || o.Kind() != chatsvc.URIFile) {
			t.Fatalf("file object %+v", o)
		}
	}
	// Carol may not read it; a foreign host never gets the token.
	carol := e.client("live:carol", "carol-pw")
	o, _ := chatsvc.ParseURIObject(sent[0].Content)
	if _, err := carol.Download(ctx, o.URI, "imgpsh_fullsize"); err == nil {
		t.Fatal("carol downloaded a file not shared with her")
	}
	if _, err := bob.Download(ctx, "https://evil.example.com/v1/objects/0-weu-d1-x", "original"); !errors.Is(err, skypeapi.ErrForeignHost) {
		t.Fatalf("foreign download: %v", err)
	}
}

func TestContactsProfilesAndPresence(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	e.emu.AddContact("live:alice", "bob.2")
	e.emu.InviteContact("live:carol", "live:alice")
	cs, err := c.Contacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].MRI != "8:bob.2" || cs[0].Name() != "Bob Brown" {
		t.Fatalf("contacts %+v", cs)
	}
	inv, err := c.Invites(ctx)
	if err != nil || len(inv) != 1 || inv[0].MRI != "8:live:carol" {
		t.Fatalf("invites %v %+v", err, inv)
	}
	if err := c.AnswerInvite(ctx, "8:live:carol", true); err != nil {
		t.Fatal(err)
	}
	if cs, _ := c.Contacts(ctx); len(cs) != 2 {
		t.Fatalf("contacts after accepting %+v", cs)
	}
	if err := c.AnswerInvite(ctx, "8:nobody", false); err == nil {
		t.Fatal("declining a missing invite succeeded")
	}
	e.emu.AddUser("erin.9", "Erin Eve", "x")
	if err := c.RequestContact(ctx, "8:erin.9", "hi"); err != nil {
		t.Fatal(err)
	}
	ps, err := c.Profiles(ctx, "8:erin.9", "nobody")
	if err != nil || len(ps) != 1 || ps[0].Name() != "Erin Eve" {
		t.Fatalf("profiles %v %+v", err, ps)
	}
	if err := c.SetMood(ctx, "on holiday"); err != nil || e.emu.Mood("live:alice") != "on holiday" {
		t.Fatalf("mood: %v %q", err, e.emu.Mood("live:alice"))
	}
	if err := c.SetPresence(ctx, "Busy"); err != nil || e.emu.Status("live:alice") != "Busy" {
		t.Fatalf("presence: %v %q", err, e.emu.Status("live:alice"))
	}
	if err := c.SetPresence(ctx, "Sleeping"); !errors.Is(err, chatsvc.ErrBadRequest) {
		t.Fatalf("bad presence: %v", err)
	}
	e.emu.ExpireSkypeTokens("live:alice")
	if _, err := c.Contacts(ctx); !errors.Is(err, skypeapi.ErrTokenRejected) {
		t.Fatalf("contacts with a dead token: %v", err)
	}
}

// hist0 is the id of the newest message of a conversation.
func hist0(t *testing.T, c *skypeapi.Client, conv string) string {
	t.Helper()
	h, err := c.History(ctxT(t), conv, time.Time{}, 1)
	if err != nil || len(h) != 1 {
		t.Fatalf("history: %v %d", err, len(h))
	}
	return string(h[0].ID)
}

func TestMessagingPathsCarryRawIDs(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	c := e.alice()
	ctx := ctxT(t)
	if _, err := c.Send(ctx, "8:bob.2", skypeapi.Outgoing{Content: "raw"}); err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateGroup(ctx, "Raw", "8:bob.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTopic(ctx, g, "Raw ids"); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"/v1/users/ME/conversations/8:bob.2/messages": false,
		"/v1/threads/" + g + "/properties":            false,
	}
	for _, r := range e.emu.Requests() {
		if strings.Contains(r.RawPath, "%3A") || strings.Contains(r.RawPath, "%40") {
			t.Fatalf("escaped id in %s", r.RawPath)
		}
		if _, ok := want[r.RawPath]; ok {
			want[r.RawPath] = true
		}
	}
	for p, seen := range want {
		if !seen {
			t.Fatalf("no request to %s", p)
		}
	}
}

func TestClearHistoryIsPerUser(t *testing.T) {
	e := newEnv(t, skypeemu.Options{})
	alice, bob := e.alice(), e.bob()
	ctx := ctxT(t)
	e.emu.Send("bob.2", "live:alice", "old news")
	if err := alice.Do(ctx, func(chat *chatsvc.Client) error { return chat.ClearHistory(ctx, "8:bob.2") }); err != nil {
		t.Fatal(err)
	}
	e.emu.Send("bob.2", "live:alice", "fresh")
	mine, err := alice.History(ctx, "8:bob.2", time.Time{}, 10)
	if err != nil || len(mine) != 1 || mine[0].Content != "fresh" {
		t.Fatalf("alice's history %v %+v", err, mine)
	}
	theirs, err := bob.History(ctx, "8:live:alice", time.Time{}, 10)
	if err != nil || len(theirs) != 2 {
		t.Fatalf("bob's history %v %d", err, len(theirs))
	}
}
