package chatbridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// base is the arrival time of message number 0 of a test history; message n
// arrived n minutes later, and its id is its arrival in milliseconds.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// msg makes history message n of the given type from sender, with extra JSON
// fields (`"skypeeditedid":"…"`, `"properties":{…}`) when given.
func msg(t *testing.T, n int, typ, sender, extra string) chatsvc.Message {
	t.Helper()
	at := base.Add(time.Duration(n) * time.Minute)
	if extra != "" {
		extra = "," + extra
	}
	m, err := chatsvc.ParseMessage(fmt.Appendf(nil, `{"id":"%d","messagetype":%q,"content":"m%d","from":"https://host/v1/users/ME/contacts/%s","originalarrivaltime":%q%s}`,
		at.UnixMilli(), typ, n, sender, at.Format(time.RFC3339Nano), extra))
	if err != nil {
		t.Fatal(err)
	}
	return *m
}

// fakeHistory serves messages and records what it was asked for.
type fakeHistory struct {
	msgs   []chatsvc.Message
	err    error
	calls  []string
	before time.Time
	since  time.Time
	limit  int
}

func (f *fakeHistory) History(ctx context.Context, conv string, before time.Time, limit int) ([]chatsvc.Message, error) {
	f.calls = append(f.calls, "history "+conv)
	f.before, f.limit = before, limit
	var out []chatsvc.Message
	for _, m := range f.msgs {
		if before.IsZero() || m.Time().Before(before) {
			out = append(out, m)
		}
	}
	// Newest first, as the service answers; at most limit.
	slices.Reverse(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, f.err
}

func (f *fakeHistory) MessagesSince(ctx context.Context, conv string, since time.Time) ([]chatsvc.Message, error) {
	f.calls = append(f.calls, "since "+conv)
	f.since = since
	var out []chatsvc.Message
	for _, m := range f.msgs {
		if m.Time().After(since) {
			out = append(out, m)
		}
	}
	return out, f.err
}

type backfillEnv struct {
	h       *bridgetest.Harness
	portal  *bridgev2.Portal
	history *fakeHistory
	b       *Backfill
	intents map[string]string // message content → the MXID of the intent it was converted with
}

const loginID = networkid.UserLoginID("teams.alice")

func newBackfillEnv(t *testing.T) *backfillEnv {
	t.Helper()
	h := bridgetest.New(t, bridge.New(fakeproto.New(ids.Teams)), bridgetest.Options{NetworkConfig: "teams: {enabled: true, greeting: hi}\n"})
	login, err := h.User("@alice:"+bridgetest.ServerName).NewLogin(h.Ctx, &database.UserLogin{
		ID: loginID, RemoteName: "alice", Metadata: protocol.NewKind[fakeproto.LoginMeta](ids.Teams).Wrap(nil),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	portal, err := h.Bridge.GetPortalByKey(h.Ctx, networkid.PortalKey{ID: ids.PortalID(ids.Teams, "19:chat"), Receiver: loginID})
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(zerolog.NewTestWriter(t))
	e := &backfillEnv{h: h, portal: portal, history: &fakeHistory{}, intents: map[string]string{}}
	e.b = &Backfill{
		Client: &protocol.ClientBase{Proto: ids.Teams, Login: login}, Log: &log,
		Source: func() History { return e.history },
		Sender: func(mri string) bridgev2.EventSender {
			return bridgev2.EventSender{Sender: ids.UserID(ids.Teams, mri)}
		},
		Convert: func(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *chatsvc.Message) (*bridgev2.ConvertedMessage, error) {
			e.intents[m.Content] = string(intent.GetMXID())
			switch m.Content {
			case "m-fails":
				return nil, errors.New("download failed")
			case "m-ignored":
				return nil, bridgev2.ErrIgnoringRemoteEvent
			}
			return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
				Type: event.EventMessage, Content: &event.MessageEventContent{MsgType: event.MsgText, Body: m.Content},
			}}}, nil
		},
		NewMetadata: func(m *chatsvc.Message) any { return "meta of " + string(m.ID) },
		Fill: func(conv string, m *chatsvc.Message, bm *bridgev2.BackfillMessage) {
			bm.ID = networkid.MessageID(conv + "/" + string(m.ID))
		},
	}
	return e
}

func (e *backfillEnv) fetch(t *testing.T, params bridgev2.FetchMessagesParams) *bridgev2.FetchMessagesResponse {
	t.Helper()
	params.Portal = e.portal
	resp, err := e.b.FetchMessages(e.h.Ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func bodies(resp *bridgev2.FetchMessagesResponse) []string {
	var out []string
	for _, m := range resp.Messages {
		out = append(out, m.Parts[0].Content.Body)
	}
	return out
}

// A new room gets its recent history oldest first, capped by
// InitialMessages, with only what live bridging would show.
func TestForwardHistoryOfANewRoom(t *testing.T) {
	e := newBackfillEnv(t)
	e.b.InitialMessages = 8
	e.history.msgs = []chatsvc.Message{
		msg(t, 0, "Text", "8:bob", ""), // beyond the cap
		msg(t, 1, "RichText", "8:bob", ""),
		msg(t, 2, "Control/Typing", "8:bob", ""),
		msg(t, 3, "RichText/UriObject", "8:carol", ""),
		msg(t, 4, "Text", "8:bob", `"properties":{"deletetime":"1"}`),
		msg(t, 5, "Text", "8:bob", `"skypeeditedid":"m1"`),
		msg(t, 6, "Event/Call", "8:carol", ""),
		msg(t, 7, "Something/New", "8:bob", ""),
		msg(t, 8, "ThreadActivity/AddMember", "8:bob", ""),
	}
	resp := e.fetch(t, bridgev2.FetchMessagesParams{Forward: true, Count: 100})
	if e.history.limit != 8 || !e.history.before.IsZero() {
		t.Fatalf("history asked for %d before %v, want the newest 8", e.history.limit, e.history.before)
	}
	if got, want := bodies(resp), []string{"m1", "m3", "m6"}; !slices.Equal(got, want) {
		t.Fatalf("backfilled %v, want %v", got, want)
	}
	if resp.HasMore || resp.Cursor != "" || !resp.Forward {
		t.Fatalf("forward answer HasMore=%v Cursor=%q Forward=%v", resp.HasMore, resp.Cursor, resp.Forward)
	}
	first := resp.Messages[0]
	if first.ID != networkid.MessageID("19:chat/"+string(e.history.msgs[1].ID)) || !first.Timestamp.Equal(base.Add(time.Minute)) ||
		first.Sender.Sender != ids.UserID(ids.Teams, "8:bob") {
		t.Fatalf("first message %q at %v from %q", first.ID, first.Timestamp, first.Sender.Sender)
	}
	// Each message was converted with its own sender's ghost.
	if bob, carol := e.h.Matrix.FormatGhostMXID(ids.UserID(ids.Teams, "8:bob")), e.h.Matrix.FormatGhostMXID(ids.UserID(ids.Teams, "8:carol")); e.intents["m1"] != string(bob) || e.intents["m3"] != string(carol) {
		t.Fatalf("converted with intents %v, want m1 as %s and m3 as %s", e.intents, bob, carol)
	}
	// Where live bridging shows unknown types as notices, so does history.
	e.b.UnknownAsNotices = true
	if got, want := bodies(e.fetch(t, bridgev2.FetchMessagesParams{Forward: true, Count: 100})), []string{"m1", "m3", "m6", "m7"}; !slices.Equal(got, want) {
		t.Fatalf("with unknown types as notices backfilled %v, want %v", got, want)
	}
}

// Scrolling back pages through the history: the first page ends at the
// oldest bridged message, each next one at the cursor of the last.
func TestBackwardPages(t *testing.T) {
	e := newBackfillEnv(t)
	for n := range 5 {
		e.history.msgs = append(e.history.msgs, msg(t, n, "Text", "8:bob", ""))
	}
	anchor := &database.Message{Timestamp: base.Add(4 * time.Minute)}
	resp := e.fetch(t, bridgev2.FetchMessagesParams{AnchorMessage: anchor, Count: 2})
	if got := bodies(resp); !slices.Equal(got, []string{"m2", "m3"}) || !resp.HasMore {
		t.Fatalf("first page %v (more: %v), want [m2 m3] and more", got, resp.HasMore)
	}
	if !e.history.before.Equal(anchor.Timestamp) {
		t.Fatalf("first page before %v, want the anchor's time", e.history.before)
	}
	resp = e.fetch(t, bridgev2.FetchMessagesParams{AnchorMessage: anchor, Cursor: resp.Cursor, Count: 2})
	if got := bodies(resp); !slices.Equal(got, []string{"m0", "m1"}) {
		t.Fatalf("second page %v, want [m0 m1]", got)
	}
	resp = e.fetch(t, bridgev2.FetchMessagesParams{AnchorMessage: anchor, Cursor: resp.Cursor, Count: 2})
	if len(resp.Messages) != 0 || resp.HasMore {
		t.Fatalf("past the start: %v (more: %v)", bodies(resp), resp.HasMore)
	}
	// A cursor Skype's backfill queued before (an RFC 3339 time) still works.
	resp = e.fetch(t, bridgev2.FetchMessagesParams{AnchorMessage: anchor, Cursor: networkid.PaginationCursor(base.Add(2 * time.Minute).Format(time.RFC3339Nano)), Count: 2})
	if got := bodies(resp); !slices.Equal(got, []string{"m0", "m1"}) {
		t.Fatalf("page before an RFC 3339 cursor %v, want [m0 m1]", got)
	}
	if _, err := e.b.FetchMessages(e.h.Ctx, bridgev2.FetchMessagesParams{Portal: e.portal, Cursor: "yesterday", Count: 2}); err == nil {
		t.Fatal("an unreadable cursor was taken as the newest page")
	}
}

// After the newest bridged message, what came since is read; of more than
// asked for, the newest are kept.
func TestForwardAfterTheNewestBridged(t *testing.T) {
	e := newBackfillEnv(t)
	for n := range 6 {
		e.history.msgs = append(e.history.msgs, msg(t, n, "Text", "8:bob", ""))
	}
	anchor := &database.Message{Timestamp: base.Add(time.Minute)}
	resp := e.fetch(t, bridgev2.FetchMessagesParams{Forward: true, AnchorMessage: anchor, Count: 3})
	if e.history.calls[0] != "since 19:chat" || !e.history.since.Equal(anchor.Timestamp) {
		t.Fatalf("asked %v since %v, want messages since the anchor", e.history.calls, e.history.since)
	}
	if got := bodies(resp); !slices.Equal(got, []string{"m3", "m4", "m5"}) || resp.HasMore {
		t.Fatalf("forward catch-up %v (more: %v), want the newest three", got, resp.HasMore)
	}
}

// A message that cannot be converted stands as a notice in its place (with
// its ID and metadata, so it stays addressable); an ignored one is left out.
func TestUnconvertibleMessages(t *testing.T) {
	e := newBackfillEnv(t)
	fails, ignored, ok := msg(t, 0, "Text", "8:bob", ""), msg(t, 1, "Text", "8:bob", ""), msg(t, 2, "Text", "8:bob", "")
	fails.Content, ignored.Content = "m-fails", "m-ignored"
	e.history.msgs = []chatsvc.Message{fails, ignored, ok}
	resp := e.fetch(t, bridgev2.FetchMessagesParams{Forward: true, Count: 10})
	if got, want := bodies(resp), []string{unbridgeableBody, "m2"}; !slices.Equal(got, want) {
		t.Fatalf("backfilled %v, want %v", got, want)
	}
	stand := resp.Messages[0]
	if stand.ID != networkid.MessageID("19:chat/"+string(fails.ID)) || stand.Parts[0].Content.MsgType != event.MsgNotice ||
		stand.Parts[0].DBMetadata != "meta of "+string(fails.ID) {
		t.Fatalf("stand-in %q %s %v", stand.ID, stand.Parts[0].Content.MsgType, stand.Parts[0].DBMetadata)
	}
}

// No history without a session, from a failed read, or for a portal that is
// not this login's.
func TestNoHistory(t *testing.T) {
	e := newBackfillEnv(t)
	foreign := &bridgev2.Portal{Portal: &database.Portal{PortalKey: networkid.PortalKey{ID: ids.PortalID(ids.Skype, "8:bob"), Receiver: loginID}}}
	if _, err := e.b.FetchMessages(e.h.Ctx, bridgev2.FetchMessagesParams{Portal: foreign, Forward: true, Count: 5}); !errors.Is(err, ids.ErrForeignID) {
		t.Fatalf("a Skype portal: %v, want ErrForeignID", err)
	}
	if len(e.history.calls) != 0 {
		t.Fatalf("the history was read for a foreign portal: %v", e.history.calls)
	}
	e.b.Source = func() History { return nil }
	if _, err := e.b.FetchMessages(e.h.Ctx, bridgev2.FetchMessagesParams{Portal: e.portal, Forward: true, Count: 5}); !errors.Is(err, bridgev2.ErrNotLoggedIn) {
		t.Fatalf("without a session: %v, want ErrNotLoggedIn", err)
	}
	e.b.Source = func() History { return e.history }
	e.history.err = errors.New("503")
	if _, err := e.b.FetchMessages(e.h.Ctx, bridgev2.FetchMessagesParams{Portal: e.portal, Forward: true, Count: 5}); err == nil {
		t.Fatal("a failed history read gave an answer")
	}
}
