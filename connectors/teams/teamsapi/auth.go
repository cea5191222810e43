package teamsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DeviceLogin is a started device-code sign-in.
type DeviceLogin struct {
	UserCode        string
	VerificationURI string
	Message         string
	Expires         time.Time
	auth            *oauth2.DeviceAuthResponse
	oc              *oauth2.Config
	cfg             *Config
}

func (c *Config) oauthConfig(tenant string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ClientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: c.deviceURL(tenant), TokenURL: c.tokenURL(tenant), AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   strings.Fields(c.skypeScope()),
	}
}

func (c *Config) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: originTransport{c.HTTPClient.Transport, c.Origin}, Timeout: c.HTTPClient.Timeout})
}

type originTransport struct {
	base   http.RoundTripper
	origin string
}

func (t originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.origin != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Origin", t.origin)
	}
	return base.RoundTrip(r)
}

// StartDeviceLogin asks AAD for a device code the user enters at
// VerificationURI.
func StartDeviceLogin(ctx context.Context, cfg Config) (*DeviceLogin, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	oc := cfg.oauthConfig(cfg.Tenant)
	da, err := oc.DeviceAuth(cfg.oauthContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("start device sign-in: %w", mapOAuthError(err))
	}
	exp := da.Expiry
	if exp.IsZero() {
		exp = cfg.Now().Add(15 * time.Minute)
	}
	return &DeviceLogin{UserCode: da.UserCode, VerificationURI: da.VerificationURI, Message: da.VerificationURIComplete,
		Expires: exp, auth: da, oc: oc, cfg: &cfg}, nil
}

// Wait polls until the user approves, declines, or the code expires, and
// returns the signed-in account's credentials.
func (d *DeviceLogin) Wait(ctx context.Context) (*Credentials, error) {
	tok, err := d.oc.DeviceAccessToken(d.cfg.oauthContext(ctx), d.auth)
	if err != nil {
		return nil, fmt.Errorf("device sign-in: %w", mapOAuthError(err))
	}
	return credentialsFromToken(d.cfg, tok)
}

// Credentials are what must be stored (sealed) to resume a login.
type Credentials struct {
	Deployment   Deployment `json:"deployment"`
	Tenant       string     `json:"tenant"` // the account's tenant (from id_token tid) for later refreshes
	ClientID     string     `json:"client_id"`
	RefreshToken string     `json:"refresh_token"`
	// UserID is the AAD object id (work) or consumer id from the id_token.
	UserID string `json:"user_id,omitempty"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	// initial is the access token that came with the sign-in (not stored).
	initial *oauth2.Token
}

func credentialsFromToken(cfg *Config, tok *oauth2.Token) (*Credentials, error) {
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("%w: no refresh token in the answer (offline_access not granted)", ErrTokenEndpoint)
	}
	cr := &Credentials{Deployment: cfg.Deployment, Tenant: cfg.Tenant, ClientID: cfg.ClientID, RefreshToken: tok.RefreshToken, initial: tok}
	if idt, ok := tok.Extra("id_token").(string); ok {
		cl := parseIDToken(idt)
		if cl.TID != "" && cfg.Deployment == Work {
			cr.Tenant = cl.TID
		}
		cr.UserID, cr.Name, cr.Email = cl.OID, cl.Name, cl.PreferredUsername
	}
	return cr, nil
}

type idClaims struct {
	TID               string `json:"tid"`
	OID               string `json:"oid"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
}

// parseIDToken reads the claims of an id_token without verifying it: the
// token came straight from the token endpoint over TLS, and only routing
// hints (tenant, names) are taken from it.
func parseIDToken(t string) idClaims {
	var cl idClaims
	parts := strings.Split(t, ".")
	if len(parts) < 2 {
		return cl
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err == nil {
		_ = json.Unmarshal(b, &cl)
	}
	return cl
}

// IsConsumerTenant reports the MSA tenant of consumer accounts.
func IsConsumerTenant(tid string) bool {
	return strings.EqualFold(tid, "9188040d-6c67-4c5b-b112-36a304b66dad") || strings.EqualFold(tid, "consumers")
}

func mapOAuthError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %v", ErrTokenEndpoint, err)
	}
	code := re.ErrorCode
	switch code {
	case "expired_token", "code_expired":
		return ErrDeviceCodeExpired
	case "authorization_declined", "access_denied":
		return ErrLoginDeclined
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if code != "" && oauthErrorNeedsRelogin(status, code) {
		return &ReloginError{Code: code, Description: re.ErrorDescription}
	}
	return fmt.Errorf("%w: HTTP %d %s", ErrTokenEndpoint, status, code)
}

// tokenAnswer is the token endpoint's JSON.
type tokenAnswer struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.Number     `json:"expires_in"`
	Scope        string          `json:"scope"`
	IDToken      string          `json:"id_token"`
	Error        string          `json:"error"`
	Description  string          `json:"error_description"`
	Codes        json.RawMessage `json:"error_codes"`
}

// Auth keeps one account's tokens fresh: per-scope AAD access tokens from
// the (rotating) refresh token, and the skypetoken with the service hosts
// from the authz answer. Refreshes are serialised so a rotated refresh token
// is never used twice.
type Auth struct {
	cfg Config

	mu      sync.Mutex
	creds   Credentials
	access  map[string]*oauth2.Token // by scope
	skype   *SkypeSession
	stuck   error     // a re-login error: no more calls until new credentials
	backoff time.Time // no token-endpoint call before this after a transient failure
	fails   int
	// OnRotate receives every new refresh token; store it sealed.
	onRotate func(Credentials)
}

// NewAuth resumes a login from stored credentials. onRotate (may be nil) is
// called with the new credentials whenever the refresh token rotates.
func NewAuth(cfg Config, creds Credentials, onRotate func(Credentials)) (*Auth, error) {
	if cfg.Deployment == "" {
		cfg.Deployment = creds.Deployment
	}
	if cfg.ClientID == "" {
		cfg.ClientID = creds.ClientID
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if creds.RefreshToken == "" {
		return nil, &ReloginError{Code: "no_refresh_token", Description: "no stored refresh token"}
	}
	if creds.Tenant == "" {
		creds.Tenant = cfg.Tenant
	}
	if creds.Deployment == "" {
		creds.Deployment = cfg.Deployment
	}
	if creds.ClientID == "" {
		creds.ClientID = cfg.ClientID
	}
	a := &Auth{cfg: cfg, creds: creds, access: map[string]*oauth2.Token{}, onRotate: onRotate}
	if creds.initial != nil {
		a.access[cfg.skypeScope()] = creds.initial
	}
	return a, nil
}

// LoginWithRefreshToken validates a pasted refresh token by redeeming it.
func LoginWithRefreshToken(ctx context.Context, cfg Config, refreshToken string, onRotate func(Credentials)) (*Auth, error) {
	if cfg.Deployment == "" {
		cfg.Deployment = Work
	}
	a, err := NewAuth(cfg, Credentials{RefreshToken: strings.TrimSpace(refreshToken)}, onRotate)
	if err != nil {
		return nil, err
	}
	if _, err := a.AccessToken(ctx, a.cfg.skypeScope()); err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the effective configuration.
func (a *Auth) Config() Config { return a.cfg }

// Credentials returns the current credentials to store.
func (a *Auth) Credentials() Credentials {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.creds
	c.initial = nil
	return c
}

// SkypeScope is the scope of the token Trouter and the registrar need.
func (a *Auth) SkypeScope() string { return a.cfg.skypeScope() }

// AccessToken returns a valid access token for scope, refreshing ahead of
// expiry.
func (a *Auth) AccessToken(ctx context.Context, scope string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.accessLocked(ctx, scope)
}

func (a *Auth) accessLocked(ctx context.Context, scope string) (string, error) {
	if t := a.access[scope]; t != nil && t.AccessToken != "" && a.cfg.Now().Add(a.cfg.RefreshSkew).Before(t.Expiry) {
		return t.AccessToken, nil
	}
	if a.stuck != nil {
		return "", a.stuck
	}
	if now := a.cfg.Now(); now.Before(a.backoff) {
		return "", fmt.Errorf("%w: retrying after %s", ErrTokenEndpoint, a.backoff.Sub(now).Round(time.Second))
	}
	tok, err := a.refreshLocked(ctx, scope)
	if err != nil {
		if errors.Is(err, ErrReloginNeeded) {
			a.stuck = err
		} else if ctx.Err() == nil {
			a.fails++
			d := min(5*time.Second<<min(a.fails-1, 6), 5*time.Minute)
			a.backoff = a.cfg.Now().Add(d)
		}
		return "", err
	}
	a.fails, a.backoff = 0, time.Time{}
	a.access[scope] = tok
	return tok.AccessToken, nil
}

// refreshLocked redeems the refresh token for scope. x/oauth2's refresh
// grant cannot carry a scope, and AAD issues one token per resource, so the
// grant is posted here directly.
func (a *Auth) refreshLocked(ctx context.Context, scope string) (*oauth2.Token, error) {
	form := url.Values{"client_id": {a.creds.ClientID}, "grant_type": {"refresh_token"},
		"refresh_token": {a.creds.RefreshToken}, "scope": {scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.tokenURL(a.creds.Tenant), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if a.cfg.Origin != "" {
		req.Header.Set("Origin", a.cfg.Origin)
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenEndpoint, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ans tokenAnswer
	_ = json.Unmarshal(data, &ans)
	if resp.StatusCode != http.StatusOK || ans.AccessToken == "" {
		if ans.Error != "" && oauthErrorNeedsRelogin(resp.StatusCode, ans.Error) {
			return nil, &ReloginError{Code: ans.Error, Description: ans.Description}
		}
		return nil, fmt.Errorf("%w: refresh for %s: HTTP %d %s", ErrTokenEndpoint, scope, resp.StatusCode, ans.Error)
	}
	secs, _ := ans.ExpiresIn.Int64()
	if secs <= 0 {
		secs = 3600
	}
	tok := &oauth2.Token{AccessToken: ans.AccessToken, TokenType: "Bearer", RefreshToken: ans.RefreshToken,
		Expiry: a.cfg.Now().Add(time.Duration(secs) * time.Second)}
	if ans.RefreshToken != "" && ans.RefreshToken != a.creds.RefreshToken {
		a.creds.RefreshToken = ans.RefreshToken
		if ans.IDToken != "" {
			if cl := parseIDToken(ans.IDToken); cl.OID != "" {
				a.creds.UserID, a.creds.Name, a.creds.Email = cl.OID, cl.Name, cl.PreferredUsername
			}
		}
		if a.onRotate != nil {
			a.onRotate(a.credsCopyLocked())
		}
	}
	a.cfg.Log.Debug().Str("scope", scope).Time("expires", tok.Expiry).Msg("Refreshed Teams access token")
	return tok, nil
}

func (a *Auth) credsCopyLocked() Credentials {
	c := a.creds
	c.initial = nil
	return c
}

// InvalidateAccess drops a rejected access token so the next call refreshes.
func (a *Auth) InvalidateAccess(scope, tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.access[scope]; t != nil && t.AccessToken == tok {
		delete(a.access, scope)
	}
}
