package teamsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// ErrDirectorySearchUnavailable is a people search the account's middle
// tier does not offer: the route is unknown to it (404), it refuses the
// query for this account (400, 403, 405, 501), or the deployment has no
// such search at all (Teams free looks people up only by e-mail address or
// phone number, never by name). Callers fall back to the people they know.
var ErrDirectorySearchUnavailable = errors.New("teamsapi: directory search not available")

// searchRetryMax is the longest Retry-After a people search waits out
// in-line, once: a person is waiting for the answer, so a longer hint is
// returned as the error (chatsvc.ErrRateLimited, carrying RetryAfter).
const searchRetryMax = 5 * time.Second

// SearchPeople searches the directory for people matching query (a name, or
// the start of an e-mail address), as the Teams clients' "new chat" people
// picker does, and returns at most max profiles (max <= 0: all the service
// sent) in the service's order. Entries without an MRI (distribution lists,
// bots) are left out.
//
// Work accounts ask the tenant directory:
// POST {middleTier}/beta/users/searchV2?includeDLs=false&includeBots=false&enableGuest=true&source=newChat&skypeTeamsInfo=true
// with the query as a JSON string body. Teams free has no name directory:
// an e-mail address or phone number is looked up with
// POST {middleTier}/beta/users/searchUsers {"emails":[...],"phones":[...]};
// any other query is ErrDirectorySearchUnavailable without a request.
//
// Tokens go only to the middle tier the authz answer or the config named; a
// 401 renews the bearer and the skypetoken once; a 429 with a short
// Retry-After is waited out once.
func (a *Auth) SearchPeople(ctx context.Context, query string, max int) ([]Profile, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	var path string
	var body any
	if a.cfg.Deployment == Consumer {
		emails, phones := []string{}, []string{}
		switch {
		case looksLikeEmail(query):
			emails = append(emails, query)
		case looksLikePhone(query):
			phones = append(phones, query)
		default:
			return nil, fmt.Errorf("search people: %w (Teams free finds people by e-mail address or phone number only)", ErrDirectorySearchUnavailable)
		}
		path, body = "/beta/users/searchUsers", map[string][]string{"emails": emails, "phones": phones}
	} else {
		q := url.Values{"includeDLs": {"false"}, "includeBots": {"false"}, "enableGuest": {"true"}, "source": {"newChat"}, "skypeTeamsInfo": {"true"}}
		path, body = "/beta/users/searchV2?"+q.Encode(), query
	}
	data, err := a.middleTierCall(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, fmt.Errorf("search people: %w", searchError(err))
	}
	profiles, err := decodeProfiles(data)
	if err != nil {
		return nil, fmt.Errorf("search people: %w", err)
	}
	if max > 0 && len(profiles) > max {
		profiles = profiles[:max]
	}
	return profiles, nil
}

// ProfileByEmail looks a person up by e-mail address (or UPN) in the
// middle tier, as the Teams web client does for an address typed into the
// "To:" line:
// GET {middleTier}/beta/users/{email}?throwIfNotFound=false&isMailAddress=true&enableGuest=true&skypeTeamsInfo=true.
// Nobody with that address is a nil profile and a nil error (an empty
// answer, or 404). A route the middle tier does not offer is
// ErrDirectorySearchUnavailable.
func (a *Auth) ProfileByEmail(ctx context.Context, email string) (*Profile, error) {
	email = strings.TrimSpace(email)
	if !looksLikeEmail(email) {
		return nil, fmt.Errorf("look up %q: not an e-mail address", email)
	}
	q := url.Values{"throwIfNotFound": {"false"}, "isMailAddress": {"true"}, "enableGuest": {"true"},
		"includeIBBarredUsers": {"true"}, "skypeTeamsInfo": {"true"}}
	data, err := a.middleTierCall(ctx, http.MethodGet, "/beta/users/"+url.PathEscape(email)+"?"+q.Encode(), nil)
	if errors.Is(err, chatsvc.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", email, searchError(err))
	}
	profiles, err := decodeProfiles(data)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", email, err)
	}
	for _, p := range profiles {
		if strings.EqualFold(p.Email, email) || strings.EqualFold(p.UserPrincipalName, email) {
			return &p, nil
		}
	}
	// Some answers carry the person without repeating the address.
	if len(profiles) == 1 && profiles[0].Email == "" && profiles[0].UserPrincipalName == "" {
		return &profiles[0], nil
	}
	return nil, nil
}

// middleTierCall does one call to the middle tier and returns the raw
// answer, whose shape varies (an empty body is nobody, not a fault): a
// person is waiting, so one short Retry-After is waited out.
func (a *Auth) middleTierCall(ctx context.Context, method, path string, body any) ([]byte, error) {
	return a.serviceRaw(ctx, serviceRequest{method: method, host: "middleTier", path: path, scope: a.middleTierScope(),
		body: body, waitRetry: searchRetryMax})
}

// searchError marks the answers that mean "this search is not offered".
func searchError(err error) error {
	var ce *chatsvc.Error
	if errors.As(err, &ce) {
		switch ce.StatusCode {
		case http.StatusNotFound, http.StatusBadRequest, http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return fmt.Errorf("%w: %w", ErrDirectorySearchUnavailable, err)
		}
	}
	return err
}

// decodeProfiles reads the people of a middle tier answer, in any of the
// shapes it comes in: {"value":[...]} (also "values" or "results"), a bare
// list, or a single person (bare or under "value"); a person may be nested
// in "nodeProfileData". Every field is optional; people without an MRI are
// skipped. An empty or null answer is nobody.
func decodeProfiles(data []byte) ([]Profile, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil
	}
	var items []json.RawMessage
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, fmt.Errorf("%w: people answer: %v", chatsvc.ErrMalformedResponse, err)
		}
	case '{':
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(data, &wrap); err != nil {
			return nil, fmt.Errorf("%w: people answer: %v", chatsvc.ErrMalformedResponse, err)
		}
		inner, found := json.RawMessage(nil), false
		for _, k := range []string{"value", "values", "results"} {
			if v, ok := wrap[k]; ok {
				inner, found = bytes.TrimSpace(v), true
				break
			}
		}
		switch {
		case !found:
			items = []json.RawMessage{data} // a single bare person
		case len(inner) == 0 || bytes.Equal(inner, []byte("null")):
			return nil, nil
		case inner[0] == '[':
			if err := json.Unmarshal(inner, &items); err != nil {
				return nil, fmt.Errorf("%w: people answer: %v", chatsvc.ErrMalformedResponse, err)
			}
		case inner[0] == '{':
			items = []json.RawMessage{inner}
		default:
			return nil, fmt.Errorf("%w: people answer: value is neither a list nor a person", chatsvc.ErrMalformedResponse)
		}
	default:
		return nil, fmt.Errorf("%w: people answer is not JSON", chatsvc.ErrMalformedResponse)
	}
	var out []Profile
	for _, it := range items {
		var p struct {
			Profile
			Nested *Profile `json:"nodeProfileData"`
		}
		if err := json.Unmarshal(it, &p); err != nil {
			continue // a non-object entry (or one with odd field types) is no person
		}
		prof := p.Profile
		if p.Nested != nil {
			prof = *p.Nested
		}
		prof.MRI = strings.TrimSpace(prof.MRI)
		if prof.MRI == "" {
			continue
		}
		prof.DisplayName = strings.TrimSpace(prof.DisplayName)
		out = append(out, prof)
	}
	return out, nil
}

// looksLikeEmail is a cheap local@domain.tld check; the service decides.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t") && !strings.Contains(domain, "@")
}

// looksLikePhone is a phone number: digits with optional +, spaces, dashes
// and brackets, at least 6 digits.
func looksLikePhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return false
		}
	}
	return digits >= 6
}
