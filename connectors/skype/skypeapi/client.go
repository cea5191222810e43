package skypeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Options are the optional hooks of a Client.
type Options struct {
	// Renew signs in again (with the stored credential) when the skypetoken
	// is rejected or about to lapse. Nil means the session cannot be renewed
	// and ErrTokenRejected ends it.
	Renew func(ctx context.Context) (*Session, error)
	// OnSession is told about every renewed session, so it can be stored.
	OnSession func(Session)
}

// Client is one signed-in Skype account.
type Client struct {
	cfg  Config
	auth *Auth
	opts Options

	mu   sync.Mutex
	sess Session
	reg  *Registration
	// stale marks the registration unusable (401, 729) so the next call
	// registers again.
	stale bool
	chat  *chatsvc.Client
	poll  *chatsvc.Client // same host, long-poll timeout
	// subscribed is the endpoint the event subscription was made on.
	subscribed string
	regCount   int
}

// NewClient returns a client for a signed-in session. It does not call the
// service; the first messaging call registers an endpoint.
func NewClient(cfg Config, sess Session, opts Options) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if sess.SkypeToken == "" || sess.UserID == "" {
		return nil, errors.New("skype: session without token or user id")
	}
	return &Client{cfg: cfg, auth: &Auth{cfg: cfg}, opts: opts, sess: sess}, nil
}

// Session is the current session (the token may have been renewed).
func (c *Client) Session() Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// MRI is the user's own id (8:<skype name>).
func (c *Client) MRI() string { return "8:" + c.Session().UserID }

// Registration is the current endpoint registration (nil before the first call).
func (c *Client) Registration() *Registration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reg == nil {
		return nil
	}
	r := *c.reg
	return &r
}

// Registrations counts endpoint registrations made so far (a gauge for
// health checks and tests).
func (c *Client) Registrations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regCount
}

// regSource hands the registration token to the chat-service client.
type regSource struct{ c *Client }

func (s regSource) Token(ctx context.Context) (string, error) {
	reg, _, err := s.c.ensure(ctx)
	if err != nil {
		return "", err
	}
	return reg.Token, nil
}

func (s regSource) Invalidate(tok string) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.reg != nil && s.c.reg.Token == tok {
		s.c.stale = true
	}
}

// InvalidateEndpoint forces a new registration on the next call (the
// service reported 729 or the poll found the endpoint gone).
func (c *Client) InvalidateEndpoint() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stale = true
	c.subscribed = ""
}

// endpointLost invalidates the registration only if it is still the one
// that failed, so concurrent 729 answers (a poll and a ping) lead to one
// new registration, not one each.
func (c *Client) endpointLost(endpointID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reg != nil && c.reg.EndpointID == endpointID {
		c.stale = true
		c.subscribed = ""
	}
}

// ensure returns a usable registration and the chat client for its host,
// registering (and renewing the skypetoken) when needed.
func (c *Client) ensure(ctx context.Context) (*Registration, *chatsvc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if c.reg != nil && !c.stale && (c.reg.Expires.IsZero() || c.reg.Expires.After(now.Add(time.Minute))) && c.chat != nil {
		return c.reg, c.chat, nil
	}
	if !c.sess.Expires.IsZero() && c.sess.Expires.Before(now.Add(time.Minute)) {
		if err := c.renewLocked(ctx); err != nil {
			return nil, nil, err
		}
	}
	host := c.cfg.MsgsHost
	if c.reg != nil {
		host = c.reg.MsgsHost
	}
	reg, err := register(ctx, &c.cfg, host, c.sess.SkypeToken)
	if errors.Is(err, ErrTokenRejected) && c.opts.Renew != nil {
		if rerr := c.renewLocked(ctx); rerr != nil {
			return nil, nil, rerr
		}
		reg, err = register(ctx, &c.cfg, host, c.sess.SkypeToken)
	}
	if err != nil {
		return nil, nil, err
	}
	if !reg.Expires.IsZero() && reg.Expires.Before(now.Add(2*time.Minute)) {
		// Our clock and the service's disagree: trusting expires= would
		// re-register on every call. Renew after an hour instead; a 401
		// before then re-registers anyway.
		c.cfg.Log.Warn().Time("expires", reg.Expires).Msg("Skype registration token expiry is in the past by our clock, ignoring it")
		reg.Expires = now.Add(time.Hour)
	}
	if c.chat == nil || c.chat.BaseURL() != reg.MsgsHost {
		chat, err := chatsvc.New(c.chatConfig(reg.MsgsHost, c.cfg.HTTPClient))
		if err != nil {
			return nil, nil, fmt.Errorf("skype chat client: %w", err)
		}
		c.chat = chat
	}
	c.reg, c.stale, c.subscribed = reg, false, ""
	c.regCount++
	c.cfg.Log.Debug().Str("endpoint", reg.EndpointID).Time("expires", reg.Expires).Msg("Registered Skype messaging endpoint")
	return c.reg, c.chat, nil
}

func (c *Client) renewLocked(ctx context.Context) error {
	if c.opts.Renew == nil {
		return &LoginError{Step: "endpoint", Kind: ErrTokenRejected, Message: "the skypetoken lapsed and no stored credential can renew it"}
	}
	s, err := c.opts.Renew(ctx)
	if err != nil {
		return fmt.Errorf("renew skypetoken: %w", err)
	}
	c.sess = *s
	c.stale = true
	if c.opts.OnSession != nil {
		c.opts.OnSession(*s)
	}
	return nil
}

// Do runs fn with the chat-service client for the current messaging host.
// When the service says the endpoint is gone (729) the client registers
// again and runs fn once more; sends are safe to repeat because they carry
// the same clientmessageid.
func (c *Client) Do(ctx context.Context, fn func(*chatsvc.Client) error) error {
	for attempt := 0; ; attempt++ {
		reg, chat, err := c.ensure(ctx)
		if err != nil {
			return err
		}
		err = fn(chat)
		if attempt == 0 && chatsvc.IsUnknownEndpoint(err) {
			c.cfg.Log.Warn().Err(err).Msg("Skype endpoint lost, registering again")
			c.endpointLost(reg.EndpointID)
			continue
		}
		return err
	}
}

// Connect registers an endpoint, publishes its presence document and
// subscribes to events; it is idempotent and redone after a lost endpoint.
func (c *Client) Connect(ctx context.Context) error {
	reg, chat, err := c.ensure(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	done := c.subscribed == reg.EndpointID
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := chat.PutEndpointPresenceDoc(ctx, reg.EndpointID, chatsvc.EndpointPresenceDoc{}); err != nil {
		return err
	}
	if err := chat.SetEndpointProperty(ctx, reg.EndpointID, "supportsMessageProperties", true); err != nil {
		// Older hosts do not know the property; events still flow.
		c.cfg.Log.Warn().Err(err).Msg("Skype endpoint property supportsMessageProperties not accepted")
	}
	if err := chat.Subscribe(ctx, reg.EndpointID, nil); err != nil {
		return err
	}
	c.mu.Lock()
	c.subscribed = reg.EndpointID
	c.mu.Unlock()
	return nil
}

// Ping keeps the endpoint alive (POST .../active, timeout 12).
func (c *Client) Ping(ctx context.Context) error {
	return c.Do(ctx, func(chat *chatsvc.Client) error {
		return chat.EndpointActive(ctx, c.Registration().EndpointID, 12)
	})
}

func (c *Client) chatConfig(base string, hc *http.Client) chatsvc.Config {
	return chatsvc.Config{
		BaseURL: base, AuthHeader: chatsvc.SkypeAuthHeader, AuthPrefix: chatsvc.SkypeAuthPrefix,
		Tokens: regSource{c}, Header: http.Header{"Clientinfo": {c.cfg.ClientInfo}, "Behavioroverride": {"redirectAs404"}},
		HTTPClient: withRawIDs(hc), Retry: c.cfg.Retry, AllowInsecureHTTP: c.cfg.AllowInsecureHTTP,
		Log: c.cfg.Log, Now: c.cfg.Now, Sleep: c.cfg.Sleep,
	}
}

// Logout deletes the endpoint so the service stops queuing events for it.
// The skypetoken itself cannot be revoked; the caller forgets it.
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	reg, chat := c.reg, c.chat
	c.mu.Unlock()
	if reg == nil || chat == nil {
		return nil
	}
	// Delete with the registration still current, then forget it; a lapsed
	// endpoint (404/729) is already gone.
	err := chat.DeleteEndpoint(ctx, reg.EndpointID)
	c.mu.Lock()
	c.reg, c.stale, c.subscribed = nil, true, ""
	c.mu.Unlock()
	if err != nil && !errors.Is(err, chatsvc.ErrNotFound) {
		return fmt.Errorf("skype logout: %w", err)
	}
	return nil
}
