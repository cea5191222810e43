package retryafter

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"5": 5 * time.Second, " 7 ": 7 * time.Second, "0": 0, "-3": 0, "1.5": 1500 * time.Millisecond,
		"1e30": Max, "86401": Max,
		"Thu, 01 Jan 2026 00:00:30 GMT":    30 * time.Second,
		"Thursday, 01-Jan-26 00:01:00 GMT": time.Minute,
		"Thu Jan  1 00:02:00 2026":         2 * time.Minute,
		"Wed, 31 Dec 2025 00:00:00 GMT":    0,
		"Sat, 01 Jan 2028 00:00:00 GMT":    Max,
	} {
		got, ok := Parse(in, now)
		if !ok || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "soon", "NaN", "5 minutes"} {
		if d, ok := Parse(bad, now); ok || d != 0 {
			t.Errorf("%q accepted as %v", bad, d)
		}
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled sleep: %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("a short sleep: %v", err)
	}
}
