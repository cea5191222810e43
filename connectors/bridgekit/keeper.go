package bridgekit

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2/status"
)

var errSessionEnded = errors.New("the session ended")

// ReconnectBackoff is the wait between the sessions of a chat-service login:
// from a second (or the shorter retryMin tests set) up to five minutes, long
// enough not to pester a service that is down.
func ReconnectBackoff(retryMin time.Duration) Backoff {
	return Backoff{Min: OrDefault(retryMin, time.Second), Max: 5 * time.Minute}
}

// SessionKeeper keeps one login's session up. Its goroutine (Session) runs
// the connector's session again after each failure, waiting a backoff in
// between; credentials the network refuses end it in BAD_CREDENTIALS with one
// notice to the user, so a dead login neither crash-loops nor hammers the
// network's token endpoint, and the user learns what to do.
//
// Fill in the fields when the client is made (Refuse may be needed before the
// session ever runs, for stored credentials that cannot be opened).
type SessionKeeper struct {
	Session // the one session goroutine (Connect starts it, Stop ends it)

	// Network names the network in log lines and the state message
	// ("Microsoft Teams"); Code starts the state error codes ("teams" →
	// "teams-disconnected", "teams-relogin").
	Network, Code string
	Log           *zerolog.Logger
	SendState     func(status.BridgeState)
	// Notice tells the user something in their management room.
	Notice func(ctx context.Context, text string)
	// Backoff is the wait between failed sessions. A session that stayed up
	// StableAfter (zero: Backoff.Max) failed anew, not as the next of a
	// series, so the wait after it starts again from Backoff.Min.
	Backoff     Backoff
	StableAfter time.Duration

	// RunSession runs one session until it fails or ctx ends.
	RunSession func(ctx context.Context) error
	// Refused tells the errors that mean the network no longer accepts the
	// stored credentials (retrying would only be refused again).
	Refused func(err error) bool
	// OnRefused handles such an error, for the connector to say why in its
	// own words; it ends by calling Refuse.
	OnRefused func(ctx context.Context, err error)
	// Down marks the login as not connected.
	Down func()

	refuseOnce sync.Once
}

// Connect starts the keeper's goroutine (running run, which ends in Run)
// unless the client was retired or is running already. Credentials that
// could not even be loaded (loadErr) go to OnRefused instead: no session can
// start without them.
func (k *SessionKeeper) Connect(ctx context.Context, log zerolog.Logger, retired func() bool, loadErr error, run func(ctx context.Context)) {
	if retired() {
		return
	}
	if loadErr != nil {
		k.OnRefused(ctx, loadErr)
		return
	}
	k.Start(log, retired, nil, run)
}

// Run runs sessions until ctx ends or the credentials are refused.
func (k *SessionKeeper) Run(ctx context.Context) {
	stableAfter := k.StableAfter
	if stableAfter <= 0 {
		stableAfter = k.Backoff.Max
	}
	for ctx.Err() == nil {
		k.SendState(status.BridgeState{StateEvent: status.StateConnecting})
		started := time.Now()
		err := k.RunSession(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			// A session is meant to run until it fails; one that just ends
			// is retried like a failed one.
			err = errSessionEnded
		}
		if k.Refused(err) {
			k.OnRefused(ctx, err)
			return
		}
		if time.Since(started) >= stableAfter {
			k.Backoff.Reset()
		}
		k.Down()
		k.Log.Warn().Err(err).Dur("retry_in", k.Backoff.Current()).Msg(k.Network + " session failed")
		k.SendState(status.BridgeState{StateEvent: status.StateTransientDisconnect, Error: status.BridgeStateErrorCode(k.Code + "-disconnected"), Message: err.Error()})
		if !k.Backoff.Wait(ctx) {
			return
		}
	}
}

// Refuse puts the login in BAD_CREDENTIALS, saying why, and sends the user
// notice (once per client: every later refusal is the same news).
func (k *SessionKeeper) Refuse(ctx context.Context, err error, why, notice string) {
	k.Down()
	k.Log.Warn().Err(err).Msg(k.Network + " no longer accepts the stored sign-in")
	k.SendState(status.BridgeState{StateEvent: status.StateBadCredentials, Error: status.BridgeStateErrorCode(k.Code + "-relogin"),
		Message: k.Network + " needs you to sign in again: " + why})
	k.refuseOnce.Do(func() { k.Notice(ctx, notice) })
}
