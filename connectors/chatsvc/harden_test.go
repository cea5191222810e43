package chatsvc_test

import (
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
