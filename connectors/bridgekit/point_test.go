package bridgekit

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The point is stored as it moves forward and read back as it was; it
// never moves back; an unreadable stored value means catching up from the
// given distance back, not from nowhere.
func TestCatchUpPoint(t *testing.T) {
	e := newReplayEnv(t)
	log := zerolog.New(zerolog.NewTestWriter(t))
	p := CatchUpPoint{Cursors: e.env.DB.Cursor, Login: login, Stream: "test-catchup", Log: &log}
	got, err := p.Load(e.h.Ctx, time.Hour)
	if err != nil || !got.IsZero() {
		t.Fatalf("a point never stored loads as %v (%v), want zero", got, err)
	}
	var point time.Time
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	p.Advance(e.h.Ctx, &point, at)
	p.Advance(e.h.Ctx, &point, at.Add(-time.Minute))
	if !point.Equal(at) {
		t.Fatalf("point %v after moving back, want %v", point, at)
	}
	if got, err = p.Load(e.h.Ctx, time.Hour); err != nil || !got.Equal(at) {
		t.Fatalf("loaded %v (%v), want %v", got, err, at)
	}
	if err := e.env.DB.Cursor.Put(e.h.Ctx, login, "test-catchup", "last tuesday"); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	got, err = p.Load(e.h.Ctx, time.Hour)
	if err != nil || got.Before(before.Add(-time.Hour)) || got.After(time.Now().Add(-time.Hour)) {
		t.Fatalf("an unreadable point loads as %v (%v), want an hour before now", got, err)
	}
}
