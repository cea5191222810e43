package teamsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Scopes of the auxiliary services.
const (
	CSAScope             = "https://chatsvcagg.teams.microsoft.com/.default offline_access"
	ConsumerMiddleTier   = "https://mtsvc.fl.teams.microsoft.com/teams.mt.readwrite offline_access"
	middleTierProfileMax = 100
)

// serviceRequest is one call to an auxiliary service.
type serviceRequest struct {
	method, host, path, scope string
	body                      any // sent as JSON; nil: no body
	// waitRetry: a 429 whose Retry-After is at most this is waited out
	// once; zero returns every 429.
	waitRetry time.Duration
}

// serviceCall does a bearer+skypetoken call to a host from the authz
// answer, refreshing both once on 401, and decodes the JSON answer into out
// (nil: the answer is dropped).
func (a *Auth) serviceCall(ctx context.Context, method, host, path, scope string, body any, out any) error {
	data, err := a.serviceRaw(ctx, serviceRequest{method: method, host: host, path: path, scope: scope, body: body})
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", chatsvc.ErrMalformedResponse, method, host, err)
	}
	return nil
}

// serviceRaw does the call and returns the raw answer. The tokens go only
// to the host the authz answer or the config named. An answer of 300 or
// more is a *chatsvc.Error naming the route (the path without its query)
// and carrying the Retry-After.
func (a *Auth) serviceRaw(ctx context.Context, r serviceRequest) ([]byte, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("%s %s: encode the request: %w", r.method, r.host, err)
		}
	}
	route, _, _ := strings.Cut(r.path, "?")
	renewed, waited := false, false
	for {
		s, err := a.Skype(ctx)
		if err != nil {
			return nil, err
		}
		base := s.Hosts[r.host]
		if base == "" {
			return nil, fmt.Errorf("%w: no %s host from authz or config", ErrForeignHost, r.host)
		}
		bearer, err := a.AccessToken(ctx, r.scope)
		if err != nil {
			return nil, err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("X-Skypetoken", s.Token)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := a.cfg.HTTPClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.host, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && !renewed {
			renewed = true
			a.InvalidateAccess(r.scope, bearer)
			a.InvalidateSkype(s.Token)
			continue
		}
		if resp.StatusCode >= 300 {
			e := &chatsvc.Error{Method: r.method, Path: route, StatusCode: resp.StatusCode}
			e.Code, e.Message = chatsvc.ParseErrorBody(data)
			if ra, ok := chatsvc.ParseRetryAfter(resp.Header.Get("Retry-After"), a.cfg.Now()); ok {
				e.RetryAfter = ra
			}
			if e.StatusCode == http.StatusTooManyRequests && r.waitRetry > 0 && !waited && e.RetryAfter <= r.waitRetry {
				waited = true
				wait := time.NewTimer(e.RetryAfter)
				select {
				case <-ctx.Done():
					wait.Stop()
					return nil, ctx.Err()
				case <-wait.C:
				}
				continue
			}
			return nil, e
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: read answer: %w", r.method, r.host, err)
		}
		return data, nil
	}
}

// Profile is a person's short profile from the middle tier.
type Profile struct {
	MRI               string `json:"mri"`
	DisplayName       string `json:"displayName"`
	Email             string `json:"email"`
	UserPrincipalName string `json:"userPrincipalName"`
	ObjectID          string `json:"objectId"`
	GivenName         string `json:"givenName"`
	Surname           string `json:"surname"`
	Type              string `json:"type"`
}

// Profiles fetches display names (and mail) for MRIs, in batches; unknown
// MRIs are simply absent from the answer.
func (a *Auth) Profiles(ctx context.Context, mris []string) ([]Profile, error) {
	scope := a.cfg.skypeScope()
	if a.cfg.Deployment == Consumer {
		scope = ConsumerMiddleTier
	}
	var out []Profile
	for start := 0; start < len(mris); start += middleTierProfileMax {
		batch := mris[start:min(start+middleTierProfileMax, len(mris))]
		var ans struct {
			Value []Profile `json:"value"`
		}
		q := url.Values{"isMailAddress": {"false"}, "enableGuest": {"true"}, "skypeTeamsInfo": {"true"}, "includeIBBarredUsers": {"true"}}
		if err := a.serviceCall(ctx, http.MethodPost, "middleTier", "/beta/users/fetchShortProfile?"+q.Encode(), scope, batch, &ans); err != nil {
			return out, fmt.Errorf("fetch profiles: %w", err)
		}
		out = append(out, ans.Value...)
	}
	return out, nil
}

// TeamInfo is a team with its channels (work accounts only).
type TeamInfo struct {
	ID          string        `json:"id"`
	DisplayName string        `json:"displayName"`
	Channels    []ChannelInfo `json:"channels"`
}

// ChannelInfo is one channel of a team.
type ChannelInfo struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	IsGeneral   bool   `json:"isGeneral"`
}

// Teams lists the user's teams and channels from the chat service
// aggregator. Teams free has no teams: it returns nil.
func (a *Auth) Teams(ctx context.Context) ([]TeamInfo, error) {
	if a.cfg.Deployment == Consumer {
		return nil, nil
	}
	var ans struct {
		Teams []TeamInfo `json:"teams"`
	}
	if err := a.serviceCall(ctx, http.MethodGet, "chatServiceAggregator", "/api/v1/teams/users/me?isPrefetch=false&enableMembershipSummary=true", CSAScope, nil, &ans); err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	for i := range ans.Teams {
		ans.Teams[i].DisplayName = strings.TrimSpace(ans.Teams[i].DisplayName)
	}
	return ans.Teams, nil
}

// Presence is one user's presence.
type Presence struct {
	MRI          string
	Availability string // Available, Busy, DoNotDisturb, BeRightBack, Away, Offline, PresenceUnknown
	Activity     string
}

// Presences reads presence for MRIs (at most 650 per call, batched here).
func (a *Auth) Presences(ctx context.Context, mris []string) ([]Presence, error) {
	var out []Presence
	for start := 0; start < len(mris); start += 650 {
		var req []map[string]string
		for _, m := range mris[start:min(start+650, len(mris))] {
			req = append(req, map[string]string{"mri": m})
		}
		var ans []struct {
			MRI      string `json:"mri"`
			Presence struct {
				Availability string `json:"availability"`
				Activity     string `json:"activity"`
			} `json:"presence"`
		}
		if err := a.serviceCall(ctx, http.MethodPost, "unifiedPresence", "/v1/presence/getpresence/", a.cfg.skypeScope(), req, &ans); err != nil {
			return out, fmt.Errorf("get presence: %w", err)
		}
		for _, p := range ans {
			out = append(out, Presence{MRI: p.MRI, Availability: p.Presence.Availability, Activity: p.Presence.Activity})
		}
	}
	return out, nil
}

// SetAvailability forces the user's own availability.
func (a *Auth) SetAvailability(ctx context.Context, availability string) error {
	if err := a.serviceCall(ctx, http.MethodPut, "unifiedPresence", "/v1/me/forceavailability/", a.cfg.skypeScope(),
		map[string]string{"availability": availability}, nil); err != nil {
		return fmt.Errorf("set availability: %w", err)
	}
	return nil
}
