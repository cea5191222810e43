package ucwa

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client talks to one UCWA user account. It is safe for concurrent use,
// except that only one RunEvents may run at a time.
type Client struct {
	cfg Config
	hc  *http.Client

	// grantMu serialises token grants so concurrent 401s cause one grant.
	grantMu sync.Mutex

	mu              sync.Mutex
	token           Token
	tokenURL        string
	userURL         string
	applicationsURL string
	base            *url.URL // scheme and host of applicationsURL
	app             *Application
	appHref         string // absolute
	eventsURL       string // absolute; the event channel cursor
	available       bool
	availability    AvailabilityOptions
	polling         bool
	trusted         map[string]bool // hosts credentials may go to (hostguard.go)
	// photoCookie is the cwt_ucwa cookie the application creation sets
	// for the application's photos path; photo GETs send it.
	photoCookie *http.Cookie
}

// Token is an access token. Its String and GoString methods redact the
// secret so it cannot leak through formatting.
type Token struct {
	AccessToken string
	TokenType   string
	Expiry      time.Time
}

func (Token) String() string   { return "ucwa.Token{<redacted>}" }
func (Token) GoString() string { return "ucwa.Token{<redacted>}" }

// New checks cfg and returns a client that has not contacted the server.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.Timeout = 0
	if !cfg.AllowPrivateAddresses {
		hc.Transport = guardTransport(hc.Transport)
	}
	c := &Client{cfg: cfg, hc: hc}
	hc.CheckRedirect = c.checkRedirect(hc.CheckRedirect)
	return c, nil
}

const maxRedirects = 5

// checkRedirect refuses HTTP redirects to plain http (unless allowed) and
// bounds the chain, then defers to the caller's own policy.
func (c *Client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("ucwa: more than %d HTTP redirects", maxRedirects)
		}
		if err := c.checkScheme(req.URL); err != nil {
			return err
		}
		if ds, ok := req.Context().Value(discoveryDomainKey{}).([]string); ok && len(ds) > 0 && !inAnyDomain(req.URL.Hostname(), ds) {
			return fmt.Errorf("ucwa: autodiscovery redirected out of %s to %s", strings.Join(ds, ", "), req.URL.Hostname())
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

func (c *Client) checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if c.cfg.AllowInsecureHTTP {
			return nil
		}
		return fmt.Errorf("%w: %s://%s%s", ErrInsecureURL, u.Scheme, u.Host, u.Path)
	default:
		return fmt.Errorf("ucwa: unsupported URL scheme %q", u.Scheme)
	}
}

// resolve turns an href into an absolute URL: server-relative hrefs are
// resolved against the applications URL host.
func (c *Client) resolve(href string) (*url.URL, error) {
	if href == "" {
		return nil, fmt.Errorf("%w: empty href", ErrNoLink)
	}
	u, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("ucwa: bad href: %w", err)
	}
	if !u.IsAbs() {
		c.mu.Lock()
		base := c.base
		c.mu.Unlock()
		if base == nil {
			return nil, errors.New("ucwa: relative href before sign-in")
		}
		u = base.ResolveReference(u)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ucwa: href %q has no host", href)
	}
	if u.User != nil {
		return nil, errors.New("ucwa: href with credentials refused")
	}
	if err := c.checkScheme(u); err != nil {
		return nil, err
	}
	return u, nil
}

// Token returns the current access token so a caller may persist it.
func (c *Client) Token() Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken installs a previously saved token; an expired or rejected token
// is replaced transparently by a new grant.
func (c *Client) SetToken(t Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = t
}

// Application returns the current application resource, or nil.
func (c *Client) Application() *Application {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.app
}
