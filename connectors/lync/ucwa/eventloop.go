package ucwa

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// UpdateKind says what an Update delivered by RunEvents means.
type UpdateKind int

const (
	// UpdateEvents carries a batch (possibly empty when the poll timed out).
	UpdateEvents UpdateKind = iota
	// UpdateResync: the server lost track of our position; events were
	// missed. Drop cached transient state (active conversations,
	// subscriptions). Batch may be empty.
	UpdateResync
	// UpdateResume: after long inactivity the server already closed all
	// conversations and subscriptions; reset, then process Batch.
	UpdateResume
	// UpdateApplicationRecreated: the application expired and a new one
	// was created. Messages may have been missed and every conversation
	// of the old application is gone.
	UpdateApplicationRecreated
	// UpdateRetrying: a transient failure; the same URL is retried after
	// RetryIn, so no event is lost or repeated.
	UpdateRetrying
)

func (k UpdateKind) String() string {
	switch k {
	case UpdateEvents:
		return "events"
	case UpdateResync:
		return "resync"
	case UpdateResume:
		return "resume"
	case UpdateApplicationRecreated:
		return "application-recreated"
	case UpdateRetrying:
		return "retrying"
	}
	return "unknown"
}

// Update is one step of the event channel.
type Update struct {
	Kind  UpdateKind
	Batch *EventBatch
	// Err and RetryIn are set for UpdateRetrying.
	Err     error
	RetryIn time.Duration
	// State is the resumable state once this update has been handled.
	// Persisting it after the handler succeeds gives at-least-once delivery
	// across restarts (dedupe messages by href).
	State State
}

// Handler consumes updates in order. Returning an error stops RunEvents
// without advancing the cursor, so the same batch is fetched again by the
// next RunEvents. Handlers should be quick: the next poll waits for them.
type Handler func(ctx context.Context, u Update) error

// RunEvents drives the event channel until ctx ends or a permanent error
// occurs: it GETs the server-given URL, one request at a time, and hands
// each response to h before following its next, resume or resync link.
// Transient failures retry the same URL with jittered exponential backoff
// (honouring Retry-After), an expired token is renewed, and an application
// the server dropped is recreated. A 409 PGetReplaced means another process
// polls this application: RunEvents returns an error wrapping
// ErrDuplicateInstance, because this client never has two polls open.
func (c *Client) RunEvents(ctx context.Context, h Handler) error {
	c.mu.Lock()
	if c.polling {
		c.mu.Unlock()
		return errors.New("ucwa: RunEvents already running")
	}
	c.polling = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.polling = false
		c.mu.Unlock()
	}()

	log := zerolog.Ctx(ctx)
	attempt := 0
	needRecreate := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if needRecreate {
			err := c.recreateApplication(ctx)
			if err == nil {
				needRecreate, attempt = false, 0
				log.Info().Msg("UCWA application recreated")
				if err := h(ctx, Update{Kind: UpdateApplicationRecreated, State: c.State()}); err != nil {
					return fmt.Errorf("event handler: %w", err)
				}
				continue
			}
			if !IsTransient(err) {
				return fmt.Errorf("event channel: %w", err)
			}
			if err := c.retryWait(ctx, h, err, &attempt); err != nil {
				return err
			}
			continue
		}

		c.mu.Lock()
		cursor := c.eventsURL
		c.mu.Unlock()
		if cursor == "" {
			return fmt.Errorf("event channel: %w", ErrNoApplication)
		}
		resp, err := c.call(ctx, request{
			method:  http.MethodGet,
			href:    cursor,
			query:   c.pollParams(),
			timeout: c.cfg.pollRequestTimeout(),
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case IsPGetReplaced(err):
				return fmt.Errorf("event channel: %w: %w", ErrDuplicateInstance, err)
			case IsApplicationGone(err) || IsNotFound(err):
				log.Warn().Err(err).Msg("UCWA application gone, recreating")
				needRecreate = true
				continue
			case IsTransient(err):
				if err := c.retryWait(ctx, h, err, &attempt); err != nil {
					return err
				}
				continue
			default:
				return fmt.Errorf("event channel: %w", err)
			}
		}
		attempt = 0
		batch, err := ParseEventBatch(resp.body)
		if err != nil {
			return fmt.Errorf("event channel: %w", err)
		}
		kind, nextHref := UpdateEvents, batch.Links.Href("next")
		switch {
		case batch.Links.Has("resync"):
			kind, nextHref = UpdateResync, batch.Links.Href("resync")
		case nextHref == "":
			kind, nextHref = UpdateResume, batch.Links.Href("resume")
		}
		next, err := c.resolve(nextHref)
		if err != nil {
			return fmt.Errorf("event channel: %w: next link: %w", ErrMalformedResponse, err)
		}
		st := c.State()
		st.EventsURL = next.String()
		// The next GET is issued only after h has handled the batch, not
		// before as §4.2 of the reference suggests, on purpose: following
		// next acknowledges this batch to the server, and the bridge may
		// only move past events that are in Matrix (issue 7), so a batch h
		// fails must stay unacknowledged and come again.
		if err := h(ctx, Update{Kind: kind, Batch: batch, State: st}); err != nil {
			return fmt.Errorf("event handler: %w", err)
		}
		c.mu.Lock()
		if c.eventsURL == cursor {
			c.eventsURL = st.EventsURL
		}
		c.mu.Unlock()
	}
}

// pollParams are re-sent on every poll: the server forgets them when it
// re-creates the channel (resume, new application), and repeating them is
// harmless.
func (c *Client) pollParams() url.Values {
	if c.cfg.PollTimeout <= 0 {
		return nil
	}
	return url.Values{"timeout": {strconv.Itoa(int(c.cfg.PollTimeout / time.Second))}}
}

// retryWait reports a transient failure to h and sleeps the backoff.
func (c *Client) retryWait(ctx context.Context, h Handler, cause error, attempt *int) error {
	var hint time.Duration
	if e, ok := asError(cause); ok {
		hint = e.RetryAfter
	}
	wait := c.backoff(*attempt, hint)
	*attempt++
	zerolog.Ctx(ctx).Warn().Err(cause).Dur("retry_in", wait).Msg("UCWA event channel failure")
	if err := h(ctx, Update{Kind: UpdateRetrying, Err: cause, RetryIn: wait, State: c.State()}); err != nil {
		return fmt.Errorf("event handler: %w", err)
	}
	if err := c.cfg.Sleep(ctx, wait); err != nil {
		return err
	}
	return nil
}

// maxRetryAfter caps a server's Retry-After so a bogus value cannot park
// the bridge for a day.
const maxRetryAfter = time.Hour

// backoff returns an exponentially growing delay with equal jitter, never
// shorter than the server's Retry-After hint.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.cfg.BackoffMin
	for i := 0; i < attempt && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	d = d/2 + rand.N(d/2+1)
	return max(d, min(retryAfter, maxRetryAfter))
}

// recreateApplication replaces a dropped application, restoring
// availability if the old one was available.
func (c *Client) recreateApplication(ctx context.Context) error {
	c.mu.Lock()
	wasAvailable, opts := c.available, c.availability
	c.app, c.appHref, c.eventsURL = nil, "", ""
	c.mu.Unlock()
	if _, err := c.CreateApplication(ctx); err != nil {
		return err
	}
	if wasAvailable {
		if err := c.MakeMeAvailable(ctx, opts); err != nil {
			c.mu.Lock()
			c.available = true // retry availability with the next recreation attempt
			c.mu.Unlock()
			return err
		}
	}
	return nil
}
