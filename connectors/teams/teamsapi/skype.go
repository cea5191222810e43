package teamsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// SkypeSession is a minted skypetoken with the hosts the authz answer named.
type SkypeSession struct {
	Token   string
	Expires time.Time
	// SkypeID is "orgid:<guid>" or "live:...", the MRI without "8:".
	SkypeID string
	Region  string
	// Hosts are regionGtms: chatService, ams, middleTier... (validated URLs).
	Hosts map[string]string
}

// MRI is the account's own MRI.
func (s *SkypeSession) MRI() string {
	if s.SkypeID == "" || strings.HasPrefix(s.SkypeID, "8:") {
		return s.SkypeID
	}
	return "8:" + s.SkypeID
}

type authzAnswer struct {
	// work shape
	Tokens *struct {
		SkypeToken string      `json:"skypeToken"`
		ExpiresIn  json.Number `json:"expiresIn"`
	} `json:"tokens"`
	// consumer shape
	SkypeToken *struct {
		SkypeToken string      `json:"skypetoken"`
		ExpiresIn  json.Number `json:"expiresIn"`
		SkypeID    string      `json:"skypeid"`
		SigninName string      `json:"signinname"`
	} `json:"skypeToken"`
	Region     string         `json:"region"`
	RegionGtms map[string]any `json:"regionGtms"`
}

// parseAuthz decodes both authz shapes into a session.
func parseAuthz(data []byte, now time.Time) (*SkypeSession, error) {
	var ans authzAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("decode authz answer: %w", err)
	}
	s := &SkypeSession{Region: ans.Region, Hosts: map[string]string{}}
	var expires json.Number
	switch {
	case ans.Tokens != nil && ans.Tokens.SkypeToken != "":
		s.Token, expires = ans.Tokens.SkypeToken, ans.Tokens.ExpiresIn
	case ans.SkypeToken != nil && ans.SkypeToken.SkypeToken != "":
		s.Token, expires, s.SkypeID = ans.SkypeToken.SkypeToken, ans.SkypeToken.ExpiresIn, ans.SkypeToken.SkypeID
	default:
		if code, msg := authzError(data); code != "" || msg != "" {
			return nil, fmt.Errorf("authz answer carries no skypetoken: %s %s", code, msg)
		}
		return nil, errors.New("authz answer carries no skypetoken")
	}
	secs, _ := expires.Int64()
	if secs <= 0 {
		secs = 86400
	}
	s.Expires = now.Add(time.Duration(secs) * time.Second)
	for k, v := range ans.RegionGtms {
		if str, ok := v.(string); ok && str != "" {
			s.Hosts[k] = strings.TrimRight(str, "/")
		}
	}
	if s.SkypeID == "" {
		s.SkypeID = skypeIDFromJWT(s.Token)
	}
	return s, nil
}

// skypeIDFromJWT reads the skypeid claim of the skypetoken (unverifiable by
// clients; used only as the account's own id).
func skypeIDFromJWT(tok string) string {
	var cl struct {
		SkypeID string `json:"skypeid"`
	}
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		return ""
	}
	if b, err := decodeB64URL(parts[1]); err == nil {
		_ = json.Unmarshal(b, &cl)
	}
	return cl.SkypeID
}

// Skype returns a valid skypetoken session, minting one ahead of expiry.
func (a *Auth) Skype(ctx context.Context) (*SkypeSession, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.skype; s != nil && a.cfg.Now().Add(a.cfg.RefreshSkew).Before(s.Expires) {
		return s, nil
	}
	s, err := a.mintLocked(ctx)
	if err != nil {
		return nil, err
	}
	a.skype = s
	return s, nil
}

// InvalidateSkype drops a skypetoken the service rejected.
func (a *Auth) InvalidateSkype(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.skype != nil && a.skype.Token == tok {
		a.skype = nil
	}
}

func (a *Auth) mintLocked(ctx context.Context) (*SkypeSession, error) {
	scope := a.cfg.skypeScope()
	for attempt := 0; ; attempt++ {
		bearer, err := a.accessLocked(ctx, scope)
		if err != nil {
			return nil, fmt.Errorf("mint skypetoken: %w", err)
		}
		status, data, err := a.postAuthz(ctx, bearer)
		if err != nil {
			return nil, fmt.Errorf("mint skypetoken: %w", err)
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			// Bearer expired early or was revoked: refresh it once.
			delete(a.access, scope)
			continue
		}
		if status != http.StatusOK {
			code, msg := authzError(data)
			if code == "UserLicenseNotPresentForbidden" {
				return nil, fmt.Errorf("mint skypetoken: %w: %s", ErrNoLicense, msg)
			}
			if status == http.StatusUnauthorized || status == http.StatusForbidden {
				return nil, &ReloginError{Code: firstNonEmpty(code, fmt.Sprintf("authz HTTP %d", status)), Description: msg}
			}
			return nil, fmt.Errorf("mint skypetoken: HTTP %d %s %s", status, code, msg)
		}
		s, err := parseAuthz(data, a.cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("mint skypetoken: %w", err)
		}
		if err := a.checkHosts(s); err != nil {
			return nil, fmt.Errorf("mint skypetoken: %w", err)
		}
		return s, nil
	}
}

// authzError reads the authz error bodies: {"errorCode":..,"message":..}
// and {"status":{"code":40120,"text":..}} (teams-web §1.4), problem+json.
func authzError(data []byte) (code, msg string) { return chatsvc.ParseErrorBody(data) }

func (a *Auth) postAuthz(ctx context.Context, bearer string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.AuthzURL, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json; ver=1.0")
	if a.cfg.Deployment == Consumer {
		req.Header.Set("ms-teams-authz-type", "ExplicitLogin")
		req.Header.Set("claimschallengecapable", "true")
	} else {
		req.Header.Set("ms-teams-authz-type", "TokenRefresh")
	}
	req.ContentLength = 0
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, data, err
}

// checkHosts applies the config overrides and validates every host the
// authz answer named; the chat service must be known one way or the other:
// regionGtms.chatService, else its front-door alias chatServiceAfd
// (teams-web §0), else the configured one. A work ChatServiceURL in the
// config overrides the answer.
func (a *Auth) checkHosts(s *SkypeSession) error {
	for k, v := range s.Hosts {
		if err := a.cfg.checkURL(v); err != nil {
			delete(s.Hosts, k)
			a.cfg.Log.Warn().Str("service", k).Err(err).Msg("Ignoring unusable host in the authz answer")
		}
	}
	if s.Hosts["chatService"] == "" && s.Hosts["chatServiceAfd"] != "" {
		s.Hosts["chatService"] = s.Hosts["chatServiceAfd"]
	}
	if a.cfg.ChatServiceURL != "" && (a.cfg.Deployment == Consumer && s.Hosts["chatService"] == "" || a.cfg.Deployment == Work) {
		s.Hosts["chatService"] = strings.TrimRight(a.cfg.ChatServiceURL, "/")
	}
	if a.cfg.MiddleTierURL != "" {
		s.Hosts["middleTier"] = strings.TrimRight(a.cfg.MiddleTierURL, "/")
	}
	if a.cfg.AMSURL != "" {
		s.Hosts["ams"] = strings.TrimRight(a.cfg.AMSURL, "/")
	}
	if s.Hosts["chatService"] == "" {
		return errors.New("authz answer names no chat service and none is configured")
	}
	return nil
}

// ChatTokens adapts the skypetoken to chatsvc.TokenSource.
func (a *Auth) ChatTokens() chatsvc.TokenSource { return skypeSource{a} }

type skypeSource struct{ a *Auth }

func (s skypeSource) Token(ctx context.Context) (string, error) {
	sess, err := s.a.Skype(ctx)
	if err != nil {
		return "", err
	}
	return sess.Token, nil
}

func (s skypeSource) Invalidate(tok string) { s.a.InvalidateSkype(tok) }

// NewChatClient builds the chat-service client for this account with the
// Teams header conventions and the host from the authz answer.
func (a *Auth) NewChatClient(ctx context.Context, retry chatsvc.RetryPolicy) (*chatsvc.Client, error) {
	s, err := a.Skype(ctx)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if a.cfg.Deployment == Consumer {
		h.Set("ms-ic3-product", "tfl")
		h.Set("ms-ic3-additional-product", "Sfl")
	}
	return chatsvc.New(chatsvc.Config{BaseURL: s.Hosts["chatService"], AuthHeader: chatsvc.TeamsAuthHeader, AuthPrefix: chatsvc.TeamsAuthPrefix,
		Tokens: a.ChatTokens(), Header: h, HTTPClient: a.cfg.HTTPClient, Retry: retry, AllowInsecureHTTP: a.cfg.AllowInsecureHTTP,
		Log: a.cfg.Log.With().Str("service", "chatsvc").Logger()})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
