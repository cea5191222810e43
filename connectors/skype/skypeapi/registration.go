package skypeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Registration is a messaging endpoint and its registration token.
type Registration struct {
	// Token is the bare registration token (what follows registrationToken=).
	Token   string
	Expires time.Time
	// EndpointID is the endpoint with braces, "{uuid}".
	EndpointID string
	// MsgsHost is the messaging root the registration ended on (after any
	// redirect); every messaging call goes there.
	MsgsHost string
}

// ParseSetRegistrationToken reads a Set-RegistrationToken header:
// "registrationToken=<t>; expires=<unix>; endpointId={<uuid>}".
func ParseSetRegistrationToken(h string) (Registration, bool) {
	var r Registration
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "registrationtoken":
			r.Token = strings.TrimSpace(v)
		case "expires":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
				r.Expires = time.Unix(n, 0)
			}
		case "endpointid":
			r.EndpointID = strings.TrimSpace(v)
		}
	}
	return r, r.Token != ""
}

// noRedirect answers redirects itself: Go would turn a 301 POST into a GET.
func noRedirect(hc *http.Client) *http.Client {
	c := *hc
	c.Jar = nil
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// trustedMsgsHost reports whether a redirect target may receive the skypetoken.
func (c *Config) trustedMsgsHost(u *url.URL) bool {
	if c.checkURL(u.Scheme+"://"+u.Host) != nil {
		return false
	}
	if regionalSibling(u.Host, hostOf(c.MsgsHost)) {
		return true
	}
	name, _ := splitHostPort(strings.ToLower(u.Host))
	for _, h := range c.ExtraMsgsHosts {
		if strings.EqualFold(h, u.Host) || strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// register creates an endpoint on host (following the service's
// "another host" redirects) with the skypetoken.
func register(ctx context.Context, cfg *Config, host, skypeToken string) (*Registration, error) {
	hc := noRedirect(cfg.HTTPClient)
	target := host + "/v1/users/ME/endpoints"
	for hop := 0; hop < 5; hop++ {
		h := http.Header{
			"Authentication":   {"skypetoken=" + skypeToken},
			"Lockandkey":       {LockAndKeyHeader(cfg.Now())},
			"Behavioroverride": {"redirectAs404"},
			"Clientinfo":       {cfg.ClientInfo},
			"Content-Type":     {"application/json"},
			"Accept":           {"application/json"},
		}
		resp, data, err := doHTTP(ctx, hc, http.MethodPost, target, h, strings.NewReader(`{"endpointFeatures":"Agent"}`))
		if err != nil {
			return nil, fmt.Errorf("skype register endpoint: %w", err)
		}
		if le := rateLimit("endpoint", resp, data, cfg.Now()); le != nil {
			return nil, le
		}
		loc := resp.Header.Get("Location")
		success := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated
		switch {
		case success && !locationElsewhere(loc, host):
			reg, ok := ParseSetRegistrationToken(resp.Header.Get("Set-RegistrationToken"))
			if !ok {
				return nil, &LoginError{Step: "endpoint", Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode), Message: "no Set-RegistrationToken"}
			}
			if reg.EndpointID == "" {
				reg.EndpointID = endpointFromLocation(loc)
			}
			if reg.EndpointID == "" {
				// Neither header names it: the body lists the user's
				// endpoints, the new one first (skpy takes [0].id).
				reg.EndpointID = endpointFromBody(data)
			}
			reg.MsgsHost = host
			return &reg, nil
		case loc != "" && (success || resp.StatusCode == http.StatusNotFound || (resp.StatusCode >= 300 && resp.StatusCode < 400)):
			// "Your princess is in another castle": same call on another
			// host, which then serves every messaging call. Any token in this
			// answer is ignored, also when it came with a 200/201 whose
			// Location names another host (skpy registers again there).
			u, err := url.Parse(loc)
			if err != nil || u.Host == "" {
				return nil, &LoginError{Step: "endpoint", Kind: ErrProtocol, Message: "unusable redirect"}
			}
			if !cfg.trustedMsgsHost(u) {
				return nil, &LoginError{Step: "endpoint", Kind: ErrForeignHost, Message: "redirect to " + u.Host}
			}
			base := u.Scheme + "://" + u.Host
			if i := strings.Index(u.Path, "/v1/users/"); i > 0 {
				base += strings.TrimRight(u.Path[:i], "/")
			}
			cfg.Log.Info().Str("from", hostOf(host)).Str("to", u.Host).Msg("Skype messaging host redirected registration")
			host = base
			target = host + "/v1/users/ME/endpoints"
			continue
		case resp.StatusCode == http.StatusUnauthorized:
			return nil, &LoginError{Step: "endpoint", Kind: ErrTokenRejected, Code: "401"}
		default:
			code, msg := errorBody(data)
			if code == "" {
				code = strconv.Itoa(resp.StatusCode)
			}
			kind := ErrEndpointRefused
			if resp.StatusCode >= 500 {
				kind = ErrUnavailable
			}
			return nil, &LoginError{Step: "endpoint", Kind: kind, Code: code, Message: msg}
		}
	}
	return nil, &LoginError{Step: "endpoint", Kind: ErrProtocol, Message: "too many host redirects"}
}

// locationElsewhere reports whether a registration answer's Location names
// a host other than the one the call went to.
func locationElsewhere(loc, host string) bool {
	if loc == "" {
		return false
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return false
	}
	return !strings.EqualFold(u.Host, hostOf(host))
}

// endpointFromLocation reads "{uuid}" from ".../endpoints/%7Buuid%7D"; ""
// when the Location names the collection only.
func endpointFromLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	_, rest, ok := strings.Cut(u.EscapedPath(), "/endpoints/")
	if !ok {
		return ""
	}
	seg, _, _ := strings.Cut(rest, "/")
	id, err := url.PathUnescape(seg)
	if err != nil || id == "" {
		return ""
	}
	return id
}

// endpointFromBody reads the first endpoint id of the endpoints answer: a
// JSON array of {"id":"{...}",...} (or a single such object).
func endpointFromBody(data []byte) string {
	var list []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &list) == nil {
		if len(list) > 0 {
			return list[0].ID
		}
		return ""
	}
	var one struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &one) == nil {
		return one.ID
	}
	return ""
}
