package ucwa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/rs/zerolog"
)

// SignIn discovers the user resource (unless already known from a resumed
// State), obtains a token and finds the applications URL. A user resource
// that redirects to another pool is followed; the token is per host, so it
// is dropped on such a redirect.
func (c *Client) SignIn(ctx context.Context) error {
	c.mu.Lock()
	userURL := c.userURL
	c.mu.Unlock()
	// A user URL from an earlier discovery is cached until the server
	// answers 403 or 502 or cannot be reached (§2.1); then discovery runs
	// again, once.
	cached := userURL != ""
	if userURL == "" {
		if c.cfg.DiscoveryURL != "" {
			u, err := url.Parse(c.cfg.DiscoveryURL)
			if err != nil {
				return fmt.Errorf("sign in: discovery URL: %w", err)
			}
			if err := c.checkScheme(u); err != nil {
				return fmt.Errorf("sign in: %w", err)
			}
		}
		var err error
		if userURL, err = c.discover(ctx); err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
	}
	seen := map[string]bool{}
	for range maxRedirects + 1 {
		c.trust(userURL)
		if seen[userURL] {
			return fmt.Errorf("sign in: user redirect loop at %s", userURL)
		}
		seen[userURL] = true
		var user Resource
		if err := c.getJSON(ctx, userURL, &user); err != nil {
			if !cached || !staleDiscovery(err) || ctx.Err() != nil {
				return fmt.Errorf("sign in: %w", err)
			}
			cached = false
			zerolog.Ctx(ctx).Info().Err(err).Msg("Cached UCWA user URL failed, running autodiscovery again")
			fresh, derr := c.discover(ctx)
			if derr != nil {
				return fmt.Errorf("sign in: %w (after %w)", derr, err)
			}
			userURL, seen = fresh, map[string]bool{}
			continue
		}
		from, err := url.Parse(userURL)
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		if apps := user.Links.Href("applications"); apps != "" {
			appsURL, err := absoluteLink(from, apps, c)
			if err != nil {
				return fmt.Errorf("sign in: %w", err)
			}
			base, _ := url.Parse(appsURL)
			c.trust(appsURL)
			c.mu.Lock()
			c.userURL, c.applicationsURL = userURL, appsURL
			c.base = &url.URL{Scheme: base.Scheme, Host: base.Host}
			c.mu.Unlock()
			return nil
		}
		redirect := user.Links.Href("redirect")
		if redirect == "" {
			return fmt.Errorf("sign in: %w: user resource has neither applications nor redirect link", ErrMalformedResponse)
		}
		next, err := absoluteLink(from, redirect, c)
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		nu, _ := url.Parse(next)
		if nu.Host != from.Host {
			c.mu.Lock()
			c.token, c.tokenURL = Token{}, ""
			c.mu.Unlock()
		}
		userURL = next
	}
	return fmt.Errorf("sign in: more than %d user redirects", maxRedirects)
}

// State is what a caller persists to resume after a restart. It holds no
// secret; the token may be saved separately (Client.Token / SetToken).
type State struct {
	UserURL         string `json:"user_url,omitempty"`
	TokenURL        string `json:"token_url,omitempty"`
	ApplicationsURL string `json:"applications_url,omitempty"`
	ApplicationHref string `json:"application_href,omitempty"`
	// EventsURL is the event channel cursor: the next URL to GET.
	EventsURL  string `json:"events_url,omitempty"`
	EndpointID string `json:"endpoint_id,omitempty"`
	Available  bool   `json:"available,omitempty"`
}

// State returns the current resumable state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked()
}

func (c *Client) stateLocked() State {
	return State{
		UserURL:         c.userURL,
		TokenURL:        c.tokenURL,
		ApplicationsURL: c.applicationsURL,
		ApplicationHref: c.appHref,
		EventsURL:       c.eventsURL,
		EndpointID:      c.cfg.EndpointID,
		Available:       c.available,
	}
}

// Resume continues from a saved State: it reuses the saved URLs, checks
// the saved application still exists and keeps the saved event cursor. If
// the application is gone it creates a new one (and makes it available
// again if it was); resumed then reports false and the caller should treat
// all conversations as closed.
func (c *Client) Resume(ctx context.Context, st State) (resumed bool, err error) {
	if st.EndpointID != "" && st.EndpointID != c.cfg.EndpointID {
		return false, fmt.Errorf("resume: saved endpoint ID differs from the configured one")
	}
	c.mu.Lock()
	c.userURL, c.tokenURL = st.UserURL, st.TokenURL
	c.mu.Unlock()
	// The saved URLs were discovered (and checked) by an earlier sign-in.
	for _, u := range []string{st.UserURL, st.TokenURL, st.ApplicationsURL} {
		c.trust(u)
	}
	if st.ApplicationsURL != "" && st.UserURL != "" {
		appsURL, err := url.Parse(st.ApplicationsURL)
		if err != nil || !appsURL.IsAbs() {
			return false, fmt.Errorf("resume: bad applications URL in saved state")
		}
		if err := c.checkScheme(appsURL); err != nil {
			return false, fmt.Errorf("resume: %w", err)
		}
		c.mu.Lock()
		c.applicationsURL = st.ApplicationsURL
		c.base = &url.URL{Scheme: appsURL.Scheme, Host: appsURL.Host}
		c.mu.Unlock()
	} else if err := c.SignIn(ctx); err != nil {
		return false, fmt.Errorf("resume: %w", err)
	}
	if st.ApplicationHref != "" {
		var app Application
		err := c.getJSON(ctx, st.ApplicationHref, &app)
		switch {
		case err == nil:
			if err := c.adoptApplication(&app, st.EventsURL); err != nil {
				return false, fmt.Errorf("resume: %w", err)
			}
			c.mu.Lock()
			c.available = st.Available
			c.mu.Unlock()
			return true, nil
		case IsApplicationGone(err) || IsNotFound(err):
			// Fall through to a fresh application.
		case staleDiscovery(err) && !errors.Is(err, ErrUnreachable):
			// 403/502: the saved URLs are stale; discover afresh (a
			// connection failure may be a blip and is returned instead).
			zerolog.Ctx(ctx).Info().Err(err).Msg("Saved UCWA application URL refused, signing in again")
			c.mu.Lock()
			c.applicationsURL = ""
			c.mu.Unlock()
			if err := c.SignIn(ctx); err != nil {
				return false, fmt.Errorf("resume: %w", err)
			}
		default:
			return false, fmt.Errorf("resume: %w", err)
		}
	}
	if _, err := c.CreateApplication(ctx); err != nil {
		return false, fmt.Errorf("resume: %w", err)
	}
	if st.Available {
		if err := c.MakeMeAvailable(ctx, AvailabilityOptions{}); err != nil {
			return false, fmt.Errorf("resume: %w", err)
		}
	}
	return false, nil
}

// staleDiscovery reports the answers after which discovered URLs must be
// looked up again: 403, 502, or no connection at all.
func staleDiscovery(err error) bool {
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	e, ok := asError(err)
	return ok && (e.StatusCode == http.StatusForbidden || e.StatusCode == http.StatusBadGateway)
}
