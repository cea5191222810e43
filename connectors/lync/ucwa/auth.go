package ucwa

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

// reauth obtains a new token unless another goroutine already replaced the
// stale one. challenge holds the 401 response headers, which name the token
// endpoint when we do not know it yet.
func (c *Client) reauth(ctx context.Context, stale string, challenge http.Header) error {
	c.grantMu.Lock()
	defer c.grantMu.Unlock()
	c.mu.Lock()
	current, tokenURL := c.token.AccessToken, c.tokenURL
	c.mu.Unlock()
	if current != "" && current != stale {
		return nil
	}
	if href, grants, ok := parseMsRtcOAuth(challenge.Values("WWW-Authenticate")); ok {
		if len(grants) > 0 && !containsFold(grants, "password") {
			return fmt.Errorf("%w: server offers %s", ErrAuthUnsupported, strings.Join(grants, ", "))
		}
		tokenURL = href
	}
	if tokenURL == "" {
		return fmt.Errorf("%w: 401 without an MsRtcOAuth challenge", ErrAuthUnsupported)
	}
	// The password goes only to a host the sign-in discovered.
	tu, err := c.resolve(tokenURL)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	if err := c.checkTrusted(tu, "the password"); err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	tok, err := c.grant(ctx, tokenURL)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.token, c.tokenURL = tok, tokenURL
	c.mu.Unlock()
	return nil
}

// grant runs the OAuth password grant.
func (c *Client) grant(ctx context.Context, tokenURL string) (Token, error) {
	form := url.Values{
		"grant_type": {"password"},
		"username":   {c.cfg.Username},
		"password":   {c.cfg.Password},
	}
	resp, err := c.send(ctx, request{
		method:      http.MethodPost,
		href:        tokenURL,
		body:        []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded;charset=UTF-8",
		noAuth:      true,
	}, "")
	if err != nil {
		return Token{}, fmt.Errorf("token request: %w", err)
	}
	if resp.status != http.StatusOK {
		var body struct {
			Error          string `json:"error"`
			PassiveAuthURI string `json:"ms_rtc_passiveauthuri"`
		}
		// The body is never echoed: only the error code is kept.
		_ = json.Unmarshal(resp.body, &body)
		return Token{}, &OAuthError{StatusCode: resp.status, Code: body.Error, PassiveAuthURI: body.PassiveAuthURI}
	}
	var body struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		TokenType   string          `json:"token_type"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || body.AccessToken == "" {
		return Token{}, fmt.Errorf("%w: token response without access_token", ErrMalformedResponse)
	}
	var secs float64
	if err := json.Unmarshal(body.ExpiresIn, &secs); err != nil {
		// Some proxies quote numbers; fall back to the documented 8 h.
		var s string
		var perr error
		if json.Unmarshal(body.ExpiresIn, &s) == nil {
			secs, perr = strconv.ParseFloat(strings.TrimSpace(s), 64)
		}
		if s == "" || perr != nil || secs <= 0 {
			secs = 8 * 3600
		}
	}
	if body.TokenType == "" {
		body.TokenType = "Bearer"
	}
	return Token{
		AccessToken: body.AccessToken,
		TokenType:   body.TokenType,
		Expiry:      time.Now().Add(time.Duration(secs) * time.Second),
	}, nil
}

// parseMsRtcOAuth finds the MsRtcOAuth challenge among WWW-Authenticate
// values and returns its href and grant types. The href may be quoted or
// not, and several challenges may share one header value.
func parseMsRtcOAuth(values []string) (href string, grants []string, ok bool) {
	for _, v := range values {
		i := indexFold(v, "msrtcoauth")
		if i < 0 {
			continue
		}
		params := parseAuthParams(v[i+len("msrtcoauth"):])
		if params["href"] == "" {
			continue
		}
		for _, g := range strings.Split(params["grant_type"], ",") {
			if g = strings.TrimSpace(g); g != "" {
				grants = append(grants, g)
			}
		}
		return params["href"], grants, true
	}
	return "", nil, false
}

// parseAuthParams reads key=value pairs (RFC 7235 auth-params) until the
// next challenge's scheme token.
func parseAuthParams(s string) map[string]string {
	params := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return params
		}
		end := strings.IndexAny(s, "= \t,")
		if end <= 0 {
			return params
		}
		key := strings.ToLower(s[:end])
		rest := strings.TrimLeft(s[end:], " \t")
		if !strings.HasPrefix(rest, "=") {
			return params // a new scheme name, not a parameter
		}
		s = strings.TrimLeft(rest[1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var sb strings.Builder
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				sb.WriteByte(s[j])
			}
			val = sb.String()
			s = s[min(j+1, len(s)):]
		} else {
			stop := strings.IndexAny(s, " \t,")
			if stop < 0 {
				stop = len(s)
			}
			val, s = s[:stop], s[stop:]
		}
		params[key] = val
	}
}

// indexFold finds an ASCII word case-insensitively. strings.ToLower cannot
// be used to find offsets: it may change the byte length of non-ASCII text.
func indexFold(s, word string) int {
	for i := 0; i+len(word) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(word)], word) {
			return i
		}
	}
	return -1
}

func containsFold(list []string, want string) bool {
	for _, v := range list {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}
