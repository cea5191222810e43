package skypeapi

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Handler receives events from Listen.
type Handler interface {
	// HandleEvent processes one event. An error leaves the event un-acked,
	// so the service delivers it again on a later poll.
	HandleEvent(ctx context.Context, ev *chatsvc.EventMessage) error
	// HandleGap reports that events since `since` may be missing (the
	// endpoint or subscription was lost). It is called after the new
	// subscription is in place, so catching up from history (CatchUp) here
	// leaves no hole; events arriving meanwhile are queued.
	HandleGap(ctx context.Context, since time.Time)
}

// ListenOptions tune Listen.
type ListenOptions struct {
	// KeepAlive is the endpoint ping interval; default 45 s, negative disables.
	KeepAlive time.Duration
	// MaxAttempts is how often a failing event is retried before it is
	// acked and dropped with a warning; default 5.
	MaxAttempts int
}

// dedupe remembers recently handled event keys (bounded).
type dedupe struct {
	seen  map[string]bool
	order []string
	max   int
}

func newDedupe(n int) *dedupe { return &dedupe{seen: map[string]bool{}, max: n} }

func (d *dedupe) has(k string) bool { return d.seen[k] }

func (d *dedupe) add(k string) {
	if d.seen[k] {
		return
	}
	d.seen[k] = true
	d.order = append(d.order, k)
	if len(d.order) > d.max {
		delete(d.seen, d.order[0])
		d.order = d.order[1:]
	}
}

// EventKey identifies an event's content across redeliveries and endpoints:
// a message by conversation, id and version; anything else by its link and
// resource version (or time).
func EventKey(ev *chatsvc.EventMessage) string {
	if ev.ResourceType == chatsvc.ResourceNewMessage || ev.ResourceType == chatsvc.ResourceMessageUpdate {
		if m, err := ev.Message(); err == nil {
			conv, _ := m.Conversation()
			return "m:" + conv + "/" + string(m.ID) + "/" + string(m.Version) + "/" + string(m.SkypeEditedID)
		}
	}
	var r struct {
		Version chatsvc.FlexString `json:"version"`
	}
	_ = json.Unmarshal(ev.Resource, &r)
	return "e:" + ev.ResourceType + ":" + ev.ResourceLink + "/" + string(r.Version) + "/" + ev.Time.UTC().Format(time.RFC3339Nano) + "/" + string(ev.ID)
}

// Listen subscribes and long-polls until ctx ends or the session cannot be
// renewed. Every event is handed to h once (redeliveries of un-acked events
// are recognised), then acked both per message (ackrequired) and
// cumulatively (?ackId= on the next poll). A lost endpoint (729) or
// subscription (450) is re-created and reported to h.HandleGap.
func (c *Client) Listen(ctx context.Context, h Handler, o ListenOptions) error {
	if o.KeepAlive == 0 {
		o.KeepAlive = 45 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.KeepAlive > 0 {
		pingCtx, stop := context.WithCancel(ctx)
		defer stop()
		go c.keepAlive(pingCtx, o.KeepAlive)
	}
	seen := newDedupe(4096)
	attempts := map[string]int{}
	var ackID int64
	ackEndpoint := ""
	lastOK := c.cfg.Now()
	// gapSince is set when events may have been lost; the gap is reported
	// only once the new subscription stands, so that history (up to now)
	// and the new event stream (from now) leave no hole between them.
	var gapSince time.Time
	failures := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.Connect(ctx); err != nil {
			if fatal(err) || ctx.Err() != nil {
				return err
			}
			failures++
			wait := backoff(failures)
			var le *LoginError
			if errors.As(err, &le) && le.RetryAfter > wait {
				wait = le.RetryAfter // 803: the service asks for minutes
			}
			c.cfg.Log.Warn().Err(err).Int("failures", failures).Dur("wait", wait).Msg("Skype event subscription failed, retrying")
			if err := c.cfg.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		reg := c.Registration()
		if reg.EndpointID != ackEndpoint {
			// Whatever replaced the endpoint (a 401 on any call, a ping's
			// 729), events queued on the old one are out of reach: catch up.
			if ackEndpoint != "" && gapSince.IsZero() {
				gapSince = lastOK.Add(-gapMargin)
			}
			// A new endpoint numbers its events afresh; failures on the old
			// one are covered by the gap's catch-up.
			ackEndpoint, ackID = reg.EndpointID, 0
			clear(attempts)
		}
		if !gapSince.IsZero() {
			h.HandleGap(ctx, gapSince)
			gapSince = time.Time{}
		}
		var events []chatsvc.EventMessage
		err := c.pollOnce(ctx, reg, ackID, &events)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case chatsvc.IsUnknownEndpoint(err) || (errors.Is(err, chatsvc.ErrNotFound) && !chatsvc.IsUnknownSubscription(err)):
			// 729, or any other 404 on the poll path (the user's messaging
			// moved to another host): register again from where we are; the
			// old host redirects if need be.
			c.cfg.Log.Warn().Err(err).Msg("Skype endpoint lost during poll, registering again and catching up")
			c.endpointLost(reg.EndpointID)
			if gapSince.IsZero() {
				gapSince = lastOK.Add(-gapMargin)
			}
			continue
		case chatsvc.IsUnknownSubscription(err):
			c.cfg.Log.Warn().Err(err).Msg("Skype subscription lost, subscribing again and catching up")
			c.mu.Lock()
			if c.subscribed == reg.EndpointID {
				c.subscribed = ""
			}
			c.mu.Unlock()
			if gapSince.IsZero() {
				gapSince = lastOK.Add(-gapMargin)
			}
			continue
		case fatal(err):
			return err
		default:
			failures++
			c.cfg.Log.Warn().Err(err).Int("failures", failures).Msg("Skype poll failed, retrying")
			if err := c.cfg.Sleep(ctx, backoff(failures)); err != nil {
				return err
			}
			continue
		}
		failures = 0
		lastOK = c.cfg.Now()
		// The cumulative ack must stop below the first event that failed,
		// or the service would forget it.
		held := false
		for i := range events {
			ev := &events[i]
			key := EventKey(ev)
			if !seen.has(key) {
				if err := h.HandleEvent(ctx, ev); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					attempts[key]++
					if attempts[key] < o.MaxAttempts {
						c.cfg.Log.Warn().Err(err).Str("resource_type", ev.ResourceType).Int("attempt", attempts[key]).
							Msg("Skype event handler failed; leaving the event un-acked for redelivery")
						held = true
						continue
					}
					c.cfg.Log.Warn().Err(err).Str("resource_type", ev.ResourceType).Str("key", key).
						Msg("Skype event still failing after retries, dropping it")
				}
				delete(attempts, key)
				seen.add(key)
			}
			if !held && ev.ID.Int() > ackID {
				ackID = ev.ID.Int()
			}
			if ack := ev.AckRequired(); ack != "" {
				if err := c.Do(ctx, func(chat *chatsvc.Client) error { return chat.Ack(ctx, ack) }); err != nil {
					// Not fatal: the redelivery is recognised by its key.
					c.cfg.Log.Warn().Err(err).Msg("Skype event ack failed")
				}
			}
		}
	}
}

func (c *Client) pollOnce(ctx context.Context, reg *Registration, ackID int64, out *[]chatsvc.EventMessage) error {
	_, chat, err := c.ensure(ctx)
	if err != nil {
		return err
	}
	poller, err := c.pollClient(chat)
	if err != nil {
		return err
	}
	evs, err := poller.PollEvents(ctx, reg.EndpointID, ackID)
	*out = evs
	return err
}

// pollClient is the chat client with the long-poll HTTP timeout.
func (c *Client) pollClient(chat *chatsvc.Client) (*chatsvc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.poll != nil && c.poll.BaseURL() == chat.BaseURL() {
		return c.poll, nil
	}
	p, err := chatsvc.New(c.chatConfig(chat.BaseURL(), c.cfg.PollHTTPClient))
	if err != nil {
		return nil, err
	}
	c.poll = p
	return p, nil
}

func (c *Client) keepAlive(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.Ping(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Log.Warn().Err(err).Msg("Skype endpoint keep-alive failed")
		}
	}
}

// gapMargin widens a reported gap backwards: our clock and the service's
// differ, and a message read twice is de-duplicated while one skipped is lost.
const gapMargin = time.Minute

// fatal errors end Listen: the session needs a new sign-in.
func fatal(err error) bool {
	return errors.Is(err, ErrTokenRejected) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrAccountActionRequired) ||
		errors.Is(err, ErrEndpointRefused) || errors.Is(err, ErrForeignHost)
}

func backoff(failures int) time.Duration {
	d := time.Second << min(failures-1, 6)
	return min(d, time.Minute)
}
