package ucwa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/retryafter"
)

// Config configures a Client.
type Config struct {
	// HTTPClient sends every request; nil means a new http.Client. Its
	// Timeout is ignored (cleared on a private copy) because event requests
	// are long polls; RequestTimeout and PollTimeout bound requests instead.
	HTTPClient *http.Client

	// Username is the sign-in name ("alice@contoso.com"); Password its
	// password. Neither is ever logged or put in an error.
	Username string
	Password string

	// Domain is the SIP domain for autodiscovery; defaults to the part of
	// Username after "@".
	Domain string
	// DiscoveryURL, when set, replaces the lyncdiscover hosts.
	DiscoveryURL string
	// AllowInsecureHTTP permits plain http URLs (tests, lab servers).
	AllowInsecureHTTP bool
	// AllowPrivateAddresses permits connections to loopback, link-local and
	// private addresses (tests, lab servers); otherwise they are refused
	// with ErrPrivateAddress, for server-given and configured URLs alike.
	AllowPrivateAddresses bool

	// EndpointID identifies this application; keep it stable across restarts
	// so the server can hand back the same application.
	EndpointID string
	UserAgent  string // default "go-ucwa/1.0"
	Culture    string // default "en-US"

	// RequestTimeout bounds ordinary requests (default 60 s).
	RequestTimeout time.Duration
	// PollTimeout is sent as the event channel "timeout" parameter (server
	// default and minimum 180 s, maximum 1800 s). Zero sends no parameter.
	PollTimeout time.Duration
	// BackoffMin and BackoffMax bound the event channel's retry delays
	// (defaults 1 s and 2 min).
	BackoffMin time.Duration
	BackoffMax time.Duration

	// Sleep waits between event channel retries; tests replace it to avoid
	// real delays. It must return ctx.Err() when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
}

const (
	defaultUserAgent      = "go-ucwa/1.0"
	defaultCulture        = "en-US"
	defaultRequestTimeout = 60 * time.Second
	defaultServerPoll     = 180 * time.Second
	pollGrace             = 60 * time.Second
	maxFieldLen           = 100 // documented limit for userAgent, endpointId, culture
)

func (c *Config) validate() error {
	if strings.TrimSpace(c.Username) == "" {
		return errors.New("ucwa: config: username is required")
	}
	if c.Password == "" {
		return errors.New("ucwa: config: password is required")
	}
	if c.EndpointID == "" {
		return errors.New("ucwa: config: endpoint ID is required")
	}
	if c.Domain == "" && c.DiscoveryURL == "" {
		_, domain, ok := strings.Cut(strings.TrimPrefix(c.Username, "sip:"), "@")
		if !ok || domain == "" {
			return errors.New("ucwa: config: domain is required when the username has no @domain")
		}
		c.Domain = domain
	}
	if c.UserAgent == "" {
		c.UserAgent = defaultUserAgent
	}
	if c.Culture == "" {
		c.Culture = defaultCulture
	}
	for name, v := range map[string]string{"endpoint ID": c.EndpointID, "user agent": c.UserAgent, "culture": c.Culture} {
		if len(v) > maxFieldLen {
			return fmt.Errorf("ucwa: config: %s longer than %d characters", name, maxFieldLen)
		}
	}
	if c.PollTimeout < 0 || c.RequestTimeout < 0 {
		return errors.New("ucwa: config: negative timeout")
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = defaultRequestTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(2*time.Minute, c.BackoffMin)
	}
	if c.Sleep == nil {
		c.Sleep = retryafter.Sleep
	}
	return nil
}

// pollRequestTimeout is the client-side bound for one event request: it must
// outlast the server's hold time.
func (c *Config) pollRequestTimeout() time.Duration {
	if c.PollTimeout > 0 {
		return c.PollTimeout + pollGrace
	}
	return defaultServerPoll + pollGrace
}

// String keeps the password out of formatted output (%v, %+v, %s).
func (c Config) String() string {
	return fmt.Sprintf("ucwa.Config{Username: %q, Domain: %q, EndpointID: %q, Password: <redacted>}", c.Username, c.Domain, c.EndpointID)
}

// GoString keeps the password out of %#v.
func (c Config) GoString() string { return c.String() }
