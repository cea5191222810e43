package chatsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imbridge/imbridge/connectors/retryafter"
)

// TokenSource supplies the credential sent in the auth header.
type TokenSource interface {
	// Token returns the current credential (without the header prefix).
	Token(ctx context.Context) (string, error)
	// Invalidate reports that the service rejected tok with 401, so the next
	// Token call must mint a new one. Sources ignore stale reports (tok no
	// longer current).
	Invalidate(tok string)
}

// StaticToken is a TokenSource for a credential that cannot be re-minted.
type StaticToken string

// Token returns the credential.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate does nothing: a static token cannot be renewed.
func (StaticToken) Invalidate(string) {}

// Auth header conventions of the two products that use the service.
const (
	TeamsAuthHeader = "Authentication"
	TeamsAuthPrefix = "skypetoken="
	SkypeAuthHeader = "RegistrationToken"
	SkypeAuthPrefix = "registrationToken="
)

// RetryPolicy governs retries of 429, 5xx and transport errors. The same
// request body is re-sent, so a send keeps its clientmessageid and a retry
// after an answer that was lost in transit cannot post a second message.
type RetryPolicy struct {
	MaxAttempts int           // total attempts including the first; default 4
	BaseDelay   time.Duration // first backoff when the server gives no Retry-After; default 500ms
	MaxDelay    time.Duration // backoff cap; default 10s
	// MaxRetryAfter is the longest server-requested wait honoured in-line;
	// longer hints end the call with ErrRateLimited carrying RetryAfter, so a
	// caller (e.g. a pending Matrix send) can decide. Default 60s.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 60 * time.Second
	}
	return p
}

// Flavor is the product whose conventions a Client follows where the Teams
// and Skype references differ.
type Flavor int

// Flavors.
const (
	// FlavorTeams: sends carry properties {importance, subject}, deletes
	// are soft deletes, new threads are threadType chat (teams-web §2).
	FlavorTeams Flavor = iota + 1
	// FlavorSkype: skpy's bodies, with no Teams-only fields (skype-web §6,
	// §7).
	FlavorSkype
)

// Config parameterises a Client for one product and one account.
type Config struct {
	// Flavor selects the product conventions; zero derives it from
	// AuthHeader (RegistrationToken is Skype, anything else Teams).
	Flavor Flavor
	// BaseURL is the chat service root, without /v1 and without a trailing
	// slash, e.g. https://emea.ng.msg.teams.microsoft.com or
	// https://teams.live.com/api/chatsvc/consumer.
	BaseURL string
	// AuthHeader and AuthPrefix form the credential header:
	// "<AuthHeader>: <AuthPrefix><token>".
	AuthHeader string
	AuthPrefix string
	Tokens     TokenSource
	// Header holds extra headers sent on every call (consumer Teams sends
	// ms-ic3-product: tfl, for instance).
	Header     http.Header
	HTTPClient *http.Client
	Retry      RetryPolicy
	// AllowInsecureHTTP permits a plain http:// BaseURL (tests, the demo).
	AllowInsecureHTTP bool
	Log               zerolog.Logger
	// Now and Sleep are replaceable for tests; Sleep must return early with
	// ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls one account's chat service. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.AuthHeader == "" || cfg.Tokens == nil {
		return nil, errors.New("chatsvc: AuthHeader and Tokens are required")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("chatsvc: invalid base URL %q", cfg.BaseURL)
	}
	switch base.Scheme {
	case "https":
	case "http":
		if !cfg.AllowInsecureHTTP {
			return nil, fmt.Errorf("chatsvc: refusing plain http base URL %q (insecure HTTP not enabled)", cfg.BaseURL)
		}
	default:
		return nil, fmt.Errorf("chatsvc: unsupported scheme in base URL %q", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	// The credential goes to BaseURL's host only, never along a redirect.
	cfg.HTTPClient = GuardRedirects(cfg.HTTPClient, true, cfg.AuthHeader)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = retryafter.Sleep
	}
	cfg.Retry = cfg.Retry.withDefaults()
	if cfg.Flavor == 0 {
		cfg.Flavor = FlavorTeams
		if strings.EqualFold(cfg.AuthHeader, SkypeAuthHeader) {
			cfg.Flavor = FlavorSkype
		}
	}
	return &Client{cfg: cfg, base: base}, nil
}

// BaseURL is the chat service root this client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// escapeID path-escapes a conversation, thread or member id the way the web
// client does (":" "@" ";" and everything url.PathEscape escapes).
func escapeID(id string) string {
	s := url.PathEscape(id)
	return strings.NewReplacer(":", "%3A", "@", "%40", "=", "%3D").Replace(s)
}

// request describes one call relative to the base URL.
type request struct {
	method string
	path   string // already escaped, starting with /v1
	query  url.Values
	body   any // marshalled once; nil for no body
	// okStatus lists accepted codes; empty means any 2xx.
	header http.Header
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do performs r with auth, retries and error mapping.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("chatsvc: encode %s %s: %w", r.method, r.path, err)
		}
	}
	u := *c.base
	u.RawPath = c.base.EscapedPath() + r.path
	u.Path, _ = url.PathUnescape(u.RawPath)
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	pol := c.cfg.Retry
	reminted := false
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, tok, err := c.once(ctx, r, &u, payload)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = fmt.Errorf("chatsvc: %s %s: %w", r.method, r.path, err)
			if attempt >= pol.MaxAttempts {
				return nil, lastErr
			}
			c.cfg.Log.Warn().Err(err).Str("method", r.method).Str("path", r.path).Int("attempt", attempt).Msg("Chat service request failed in transit, retrying")
			if err := c.cfg.Sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		e := &Error{Method: r.method, Path: u.Path, StatusCode: resp.status}
		e.Code, e.Message = parseErrorBody(resp.body)
		if ra, ok := ParseRetryAfter(resp.header.Get("Retry-After"), c.cfg.Now()); ok {
			e.RetryAfter = ra
		}
		if resp.status == http.StatusUnauthorized && !reminted {
			// The token may have expired early or been revoked: re-mint once.
			reminted = true
			c.cfg.Tokens.Invalidate(tok)
			attempt--
			continue
		}
		if !e.Retryable() || attempt >= pol.MaxAttempts {
			return nil, e
		}
		wait := c.backoff(attempt)
		if e.RetryAfter > 0 || resp.header.Get("Retry-After") != "" {
			if e.RetryAfter > pol.MaxRetryAfter {
				return nil, e
			}
			wait = e.RetryAfter
		}
		c.cfg.Log.Warn().Int("status", resp.status).Str("method", r.method).Str("path", u.Path).
			Dur("wait", wait).Int("attempt", attempt).Msg("Chat service asked to retry")
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Retry.BaseDelay << (attempt - 1)
	if d > c.cfg.Retry.MaxDelay || d <= 0 {
		d = c.cfg.Retry.MaxDelay
	}
	// Up to 20% jitter so many logins do not retry in lock-step.
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func (c *Client) once(ctx context.Context, r request, u *url.URL, payload []byte) (*response, string, error) {
	tok, err := c.cfg.Tokens.Token(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("get token: %w", err)
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, tok, err
	}
	for k, vs := range c.cfg.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range r.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set(c.cfg.AuthHeader, c.cfg.AuthPrefix+tok)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	} else if r.method == http.MethodPost || r.method == http.MethodPut {
		req.ContentLength = 0
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, tok, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, tok, fmt.Errorf("read body: %w", err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, tok, nil
}

// decode unmarshals a JSON answer into out.
func decode(resp *response, out any, what string) error {
	if len(bytes.TrimSpace(resp.body)) == 0 || string(bytes.TrimSpace(resp.body)) == "null" {
		return fmt.Errorf("%w: empty %s", ErrMalformedResponse, what)
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedResponse, what, err)
	}
	return nil
}

// syncStateFrom extracts the opaque syncState from a link the service
// returned. Only the query value is used: the link itself is never
// followed, so a token can never go to a host named in an answer. A bare
// value (no URL around it) is the syncState itself.
func syncStateFrom(link string) string {
	link = strings.TrimSpace(link)
	if link == "" {
		return ""
	}
	if !strings.ContainsAny(link, "/?&=") {
		return link
	}
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("syncState")
}

// answerError is the failure a 2xx answer reports in its body: the Skype
// lineage answers an edit or delete it refused with 200 and an errorCode
// (skype-web §6.3).
func answerError(resp *response, method, path string) error {
	b := bytes.TrimSpace(resp.body)
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var probe struct {
		ErrorCode json.RawMessage `json:"errorCode"`
	}
	if json.Unmarshal(b, &probe) != nil || rawToString(probe.ErrorCode) == "" {
		return nil
	}
	e := &Error{Method: method, Path: path, StatusCode: resp.status}
	e.Code, e.Message = parseErrorBody(b)
	return e
}
