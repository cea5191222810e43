package ucwa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// CreateApplication registers this client as an application. The server may
// answer 200 with an existing application when one with the same endpoint
// ID is still alive; both answers are accepted.
func (c *Client) CreateApplication(ctx context.Context) (*Application, error) {
	c.mu.Lock()
	appsURL := c.applicationsURL
	c.mu.Unlock()
	if appsURL == "" {
		return nil, fmt.Errorf("create application: not signed in")
	}
	resp, err := c.postJSON(ctx, appsURL, map[string]string{
		"userAgent":  c.cfg.UserAgent,
		"endpointId": c.cfg.EndpointID,
		"culture":    c.cfg.Culture,
	})
	if err != nil {
		return nil, fmt.Errorf("create application: %w", err)
	}
	var app Application
	if loc := resp.header.Get("Location"); len(bytes.TrimSpace(resp.body)) == 0 && loc != "" {
		// The resource is the answer's body (§3.1); a server that sends
		// only its Location gets it read from there.
		if err := c.getJSON(ctx, loc, &app); err != nil {
			return nil, fmt.Errorf("create application: read %s: %w", loc, err)
		}
	} else if err := json.Unmarshal(resp.body, &app); err != nil {
		return nil, fmt.Errorf("create application: %w: %w", ErrMalformedResponse, err)
	}
	if err := c.adoptApplication(&app, ""); err != nil {
		return nil, fmt.Errorf("create application: %w", err)
	}
	var photo *http.Cookie
	for _, ck := range (&http.Response{Header: resp.header}).Cookies() {
		if ck.Name == "cwt_ucwa" && ck.Value != "" {
			photo = ck
		}
	}
	c.mu.Lock()
	c.available = false
	c.photoCookie = photo
	c.mu.Unlock()
	return &app, nil
}

// adoptApplication makes app current. cursor, when set, is a saved event
// URL that takes precedence over the application's own events link.
func (c *Client) adoptApplication(app *Application, cursor string) error {
	self, err := c.resolve(app.Self())
	if err != nil {
		return fmt.Errorf("%w: application self link: %w", ErrMalformedResponse, err)
	}
	if cursor == "" {
		ev, err := c.resolve(app.Links.Href("events"))
		if err != nil {
			return fmt.Errorf("%w: application events link: %w", ErrMalformedResponse, err)
		}
		cursor = ev.String()
	} else if _, err := c.resolve(cursor); err != nil {
		return fmt.Errorf("saved event cursor: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.app, c.appHref, c.eventsURL = app, self.String(), cursor
	return nil
}

// RefreshApplication re-reads the application resource (links change after
// makeMeAvailable). The event cursor is kept.
func (c *Client) RefreshApplication(ctx context.Context) (*Application, error) {
	c.mu.Lock()
	href := c.appHref
	c.mu.Unlock()
	if href == "" {
		return nil, ErrNoApplication
	}
	var app Application
	if err := c.getJSON(ctx, href, &app); err != nil {
		return nil, fmt.Errorf("refresh application: %w", err)
	}
	c.mu.Lock()
	c.app = &app
	c.mu.Unlock()
	return &app, nil
}

// AvailabilityOptions are the makeMeAvailable parameters.
type AvailabilityOptions struct {
	SignInAs       string   // Online (default), Busy, DoNotDisturb, BeRightBack, Away, Offwork
	MessageFormats []string // default Plain and Html
}

// MakeMeAvailable leaves lurker mode so the application receives
// invitations. Calling it on an already available application is not an
// error.
func (c *Client) MakeMeAvailable(ctx context.Context, opts AvailabilityOptions) error {
	me, err := c.me(ctx, "makeMeAvailable")
	if errors.Is(err, ErrNoLink) && me != nil && me.Links.Has("reportMyActivity") {
		c.markAvailable(opts)
		return nil
	}
	if err != nil {
		return fmt.Errorf("make me available: %w", err)
	}
	body := map[string]any{
		"supportedModalities":     []string{"Messaging"},
		"supportedMessageFormats": opts.MessageFormats,
		"signInAs":                opts.SignInAs,
	}
	if len(opts.MessageFormats) == 0 {
		body["supportedMessageFormats"] = []string{"Plain", "Html"}
	}
	if opts.SignInAs == "" {
		body["signInAs"] = "Online"
	}
	if _, err := c.postJSON(ctx, me.Links.Href("makeMeAvailable"), body); err != nil && !IsAlreadyExists(err) {
		return fmt.Errorf("make me available: %w", err)
	}
	c.markAvailable(opts)
	// New links (reportMyActivity, presence) appear only on a fresh read.
	if _, err := c.RefreshApplication(ctx); err != nil {
		return fmt.Errorf("make me available: %w", err)
	}
	return nil
}

func (c *Client) markAvailable(opts AvailabilityOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.available, c.availability = true, opts
}

// Me returns the signed-in user (name, SIP URI, links): embedded in the
// application, or read from its me link when the server only links it.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	app := c.Application()
	if app == nil {
		return nil, ErrNoApplication
	}
	me, err := appResource[Me](ctx, c, app, "me")
	if err != nil {
		return nil, fmt.Errorf("read me: %w", err)
	}
	return me, nil
}

// me returns the embedded me resource, re-reading the application once if
// the wanted link is missing. The returned error wraps ErrNoLink when the
// link is still absent.
func (c *Client) me(ctx context.Context, rel string) (*Me, error) {
	app := c.Application()
	if app == nil {
		return nil, ErrNoApplication
	}
	me, err := appResource[Me](ctx, c, app, "me")
	if err == nil && me.Links.Has(rel) {
		return me, nil
	}
	if app, err = c.RefreshApplication(ctx); err != nil {
		return nil, err
	}
	if me, err = appResource[Me](ctx, c, app, "me"); err != nil {
		return nil, err
	}
	if !me.Links.Has(rel) {
		return me, fmt.Errorf("%w: me.%s", ErrNoLink, rel)
	}
	return me, nil
}

// ReportMyActivity tells the server the user is active; without it the
// presence decays to Away and the application may eventually expire.
//
// When the server has put an application that was available back into
// lurker mode (409 MakeMeAvailableRequired, or no reportMyActivity link
// any more) it is made available again with the same options, so it keeps
// receiving invitations.
func (c *Client) ReportMyActivity(ctx context.Context) error {
	err := c.availableCall(ctx, "reportMyActivity", func(href string) error {
		_, err := c.postEmpty(ctx, href)
		return err
	})
	if err != nil {
		return fmt.Errorf("report activity: %w", err)
	}
	return nil
}

// availableCall runs fn with the href of the me link rel. When the server
// has put an application that was available back into lurker mode (the
// link is gone, or fn got 409 MakeMeAvailableRequired) it makes the
// application available again and runs fn once more.
func (c *Client) availableCall(ctx context.Context, rel string, fn func(href string) error) error {
	me, err := c.me(ctx, rel)
	if errors.Is(err, ErrNoLink) && c.wantsAvailable() {
		if err := c.restoreAvailability(ctx); err != nil {
			return err
		}
		me, err = c.me(ctx, rel)
	}
	if err != nil {
		return err
	}
	err = fn(me.Links.Href(rel))
	if IsMakeMeAvailableRequired(err) && c.wantsAvailable() {
		if rerr := c.restoreAvailability(ctx); rerr != nil {
			return fmt.Errorf("%w (after %w)", rerr, err)
		}
		if me, err = c.me(ctx, rel); err == nil {
			err = fn(me.Links.Href(rel))
		}
	}
	return err
}

func (c *Client) wantsAvailable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.available
}

// restoreAvailability repeats makeMeAvailable with the options last used.
func (c *Client) restoreAvailability(ctx context.Context) error {
	c.mu.Lock()
	opts := c.availability
	c.mu.Unlock()
	zerolog.Ctx(ctx).Warn().Msg("UCWA application lost its availability, making it available again")
	return c.MakeMeAvailable(ctx, opts)
}

// MaxKeepAliveInterval is the longest gap the server tolerates between
// activity reports before the user looks idle.
const MaxKeepAliveInterval = 4 * time.Minute

// KeepAlive calls ReportMyActivity every interval (at most
// MaxKeepAliveInterval; three minutes leaves margin) until ctx ends. Failures are logged through the
// zerolog logger in ctx and retried at the next tick; an application that
// vanished is recreated by RunEvents, not here.
func (c *Client) KeepAlive(ctx context.Context, interval time.Duration) error {
	if interval <= 0 || interval > MaxKeepAliveInterval {
		return fmt.Errorf("keep alive: interval %s outside (0, 4m]", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := c.ReportMyActivity(ctx); err != nil && ctx.Err() == nil {
				zerolog.Ctx(ctx).Warn().Err(err).Msg("UCWA activity report failed")
			}
		}
	}
}

// Close deletes the application on the server. An application the server
// already dropped counts as closed.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	href := c.appHref
	c.mu.Unlock()
	if href == "" {
		return nil
	}
	_, err := c.call(ctx, request{method: http.MethodDelete, href: href})
	if err != nil && !IsApplicationGone(err) && !IsNotFound(err) {
		return fmt.Errorf("delete application: %w", err)
	}
	c.mu.Lock()
	c.app, c.appHref, c.eventsURL, c.available, c.photoCookie = nil, "", "", false, nil
	c.mu.Unlock()
	return nil
}

// Presence reads the user's own presence.
func (c *Client) Presence(ctx context.Context) (*Presence, error) {
	var p Presence
	if err := c.availableCall(ctx, "presence", func(href string) error { return c.getJSON(ctx, href, &p) }); err != nil {
		return nil, fmt.Errorf("get presence: %w", err)
	}
	return &p, nil
}

// SetPresence sets the user's own availability (Online, Busy,
// DoNotDisturb, BeRightBack, Away, Offwork).
func (c *Client) SetPresence(ctx context.Context, availability string) error {
	err := c.availableCall(ctx, "presence", func(href string) error {
		_, err := c.postJSON(ctx, href, map[string]string{"availability": availability})
		return err
	})
	if err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	return nil
}

// appResource returns one of the application's resources (me, people,
// communication): embedded, as servers usually send it, or read from the
// application's link of the same name when it is only linked.
func appResource[T any](ctx context.Context, c *Client, app *Application, rel string) (*T, error) {
	v, err := embeddedOne[T](app.Embedded, rel)
	if err == nil || !errors.Is(err, ErrNotEmbedded) {
		return v, err
	}
	href := app.Links.Href(rel)
	if href == "" {
		return nil, err
	}
	var out T
	if err := c.getJSON(ctx, href, &out); err != nil {
		return nil, fmt.Errorf("get %s: %w", rel, err)
	}
	return &out, nil
}
