package bridgekit

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/database"
)

// CatchUpPoint is a login's catch-up point: the arrival time up to which
// every message is known to be in Matrix, kept in imbridge's cursor table
// under Stream, so a restart (or a lost push channel) catches up from it.
type CatchUpPoint struct {
	Cursors *database.CursorQuery
	Login   networkid.UserLoginID
	Stream  string
	Log     *zerolog.Logger
}

// Load reads the stored point; zero means none is stored (the login never
// finished a first sync). A stored value that cannot be read is taken as
// unreadableAgo before now, with a warning: catching up over messages that
// are bridged already costs a lookup each, skipping any loses them.
func (p CatchUpPoint) Load(ctx context.Context, unreadableAgo time.Duration) (time.Time, error) {
	raw, err := p.Cursors.Get(ctx, p.Login, p.Stream)
	if err != nil {
		return time.Time{}, fmt.Errorf("load the catch-up point: %w", err)
	}
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		p.Log.Warn().Str("value", raw).Str("stream", p.Stream).Dur("catching_up_over", unreadableAgo).
			Msg("Unreadable catch-up point; catching up from further back")
		return time.Now().Add(-unreadableAgo), nil
	}
	return t, nil
}

// Advance moves *point forward to t and stores it; a t that is not later
// leaves it (the point never moves back over what was bridged). The caller
// serialises calls for one point.
func (p CatchUpPoint) Advance(ctx context.Context, point *time.Time, t time.Time) {
	if !t.After(*point) {
		return
	}
	*point = t
	if err := p.Cursors.Put(ctx, p.Login, p.Stream, t.UTC().Format(time.RFC3339Nano)); err != nil {
		p.Log.Err(err).Str("stream", p.Stream).Msg("Failed to save the catch-up point")
	}
}
