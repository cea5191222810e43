package chatsvc_test

import (
	"encoding/json"
	"testing"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Issue 7 item 5: a bad timestamp neither fails the whole message (which
// was dropped as unreadable) nor dates it in 1970; BadTimestamp names it
// for the log line and Time is zero, which bridgev2 takes as the receive
// time.
func TestHardenBadTimestampKeepsTheMessage(t *testing.T) {
	for _, raw := range []string{
		`{"id":"1","messagetype":"Text","content":"hi","originalarrivaltime":"yesterday-ish"}`,
		`{"id":"1","messagetype":"Text","content":"hi","originalarrivaltime":{"when":"now"}}`,
		`{"id":"1","messagetype":"Text","content":"hi","originalarrivaltime":["2026"],"composetime":"garbage"}`,
	} {
		m, err := chatsvc.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatalf("%s: the message was lost: %v", raw, err)
		}
		if m.Content != "hi" || !m.Time().IsZero() || m.BadTimestamp() == "" {
			t.Fatalf("%s: content %q time %v bad %q", raw, m.Content, m.Time(), m.BadTimestamp())
		}
	}
	good, err := chatsvc.ParseMessage([]byte(`{"id":"1769191432001","messagetype":"Text","content":"x","originalarrivaltime":"2026-01-23T18:03:52.001Z"}`))
	if err != nil || good.Time().IsZero() || good.BadTimestamp() != "" {
		t.Fatalf("a good timestamp: %v %v %q", err, good.Time(), good.BadTimestamp())
	}
	// No time field: an id that is an epoch in milliseconds dates it, a
	// small one does not (1970).
	byID, _ := chatsvc.ParseMessage([]byte(`{"id":"1769191432001","messagetype":"Text","content":"x"}`))
	if byID.Time().Year() != 2026 {
		t.Fatalf("dated by id: %v", byID.Time())
	}
	small, _ := chatsvc.ParseMessage([]byte(`{"id":"7","messagetype":"Text","content":"x"}`))
	if !small.Time().IsZero() {
		t.Fatalf("id 7 dated the message %v", small.Time())
	}
}

// Issue 7 items 4 and 5: one field that does not decode costs neither the
// message nor the page it came in; the field is named in Unreadable.
func TestHardenBadFieldKeepsMessageAndPage(t *testing.T) {
	m, err := chatsvc.ParseMessage([]byte(`{"id":"1769191432001","messagetype":"RichText","content":{"oops":1},"from":"https://x/v1/users/ME/contacts/8:bob","originalarrivaltime":"2026-01-23T18:03:52.001Z"}`))
	if err != nil {
		t.Fatalf("the message was lost: %v", err)
	}
	if !m.FieldUnreadable("content") || m.Content != "" || m.Sender() != "8:bob" || m.Time().IsZero() || string(m.ID) != "1769191432001" {
		t.Fatalf("got %+v", m)
	}
	var page struct {
		Messages []chatsvc.Message `json:"messages"`
	}
	raw := `{"messages":[{"id":"3","messagetype":"Text","content":"three"},{"id":"2","messagetype":7,"content":"two","properties":"not an object"},{"id":"1","messagetype":"Text","content":"one"}]}`
	if err := json.Unmarshal([]byte(raw), &page); err != nil {
		t.Fatalf("one bad message failed the page: %v", err)
	}
	if len(page.Messages) != 3 || page.Messages[0].Content != "three" || page.Messages[2].Content != "one" || page.Messages[1].Content != "two" {
		t.Fatalf("page %+v", page.Messages)
	}
	if bad := page.Messages[1].Unreadable; len(bad) == 0 {
		t.Fatalf("the bad fields are not named: %+v", page.Messages[1])
	}
	if len(page.Messages[0].Unreadable) != 0 {
		t.Fatalf("a good message has unreadable fields %v", page.Messages[0].Unreadable)
	}
}

// Issue 7 item 4: an event whose own fields are malformed (a numeric
// resourceLink, an object for its id or time) still yields the message its
// resource holds; only an event without a resource type is dropped.
func TestHardenMalformedEventFieldsKeepTheMessage(t *testing.T) {
	ev, err := chatsvc.ParseEventMessage([]byte(`{"id":{"x":1},"type":"EventMessage","resourceType":"NewMessage","time":["now"],"resourceLink":12345,
		"resource":{"id":"1769191432001","messagetype":"Text","content":"kept","conversationLink":"https://x/v1/users/ME/conversations/8:bob","from":"https://x/v1/users/ME/contacts/8:bob"}}`))
	if err != nil {
		t.Fatalf("the event was dropped: %v", err)
	}
	m, err := ev.Message()
	if err != nil || m.Content != "kept" {
		t.Fatalf("message %+v: %v", m, err)
	}
	if conv, _ := m.Conversation(); conv != "8:bob" {
		t.Fatalf("conversation %q", conv)
	}
	if _, err := chatsvc.ParseEventMessage([]byte(`{"id":5,"resourceType":7}`)); err == nil {
		t.Fatal("an event without a readable resource type was accepted")
	}
}
