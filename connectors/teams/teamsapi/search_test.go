package teamsapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

// TestSearchPeopleFromTheEmulator: a work account finds colleagues of its
// own tenant by name word or address prefix, never another organisation's
// people; Teams free finds people by exact address only; a middle tier
// without the search says so with ErrDirectorySearchUnavailable.
func TestSearchPeopleFromTheEmulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t, teamsemu.Options{})
	bella := e.emu.AddUser("bella.b@contoso.com", "Bella Bianchi")
	e.emu.AddUserInTenant("boris@fabrikam.example", "Boris Brown", "0a0a0a0a-1111-2222-3333-444444444444")
	cfg := e.config(Work)
	auth, err := NewAuth(cfg, *e.login(t, cfg, e.alice.Email), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ps []Profile) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.DisplayName+"<"+p.Email+">")
		}
		return out
	}
	got, err := auth.SearchPeople(ctx, "BROWN", 20)
	if err != nil || len(got) != 1 || got[0].MRI != e.bob.MRI || got[0].Email != e.bob.Email {
		t.Fatalf("search BROWN: %v, %v (another tenant's Boris Brown must not be found)", names(got), err)
	}
	got, err = auth.SearchPeople(ctx, "b", 20)
	if err != nil || len(got) != 2 || got[0].MRI != bella.MRI || got[1].MRI != e.bob.MRI {
		t.Fatalf("search b: %v, %v", names(got), err)
	}
	if got, err = auth.SearchPeople(ctx, "b", 1); err != nil || len(got) != 1 {
		t.Fatalf("search b, max 1: %v, %v", names(got), err)
	}
	if got, err = auth.SearchPeople(ctx, "bella.b@", 20); err != nil || len(got) != 1 || got[0].MRI != bella.MRI {
		t.Fatalf("search by address prefix: %v, %v", names(got), err)
	}
	if got, err = auth.SearchPeople(ctx, "zed", 20); err != nil || len(got) != 0 {
		t.Fatalf("search zed: %v, %v", names(got), err)
	}
	reqs := e.emu.Requests("/beta/users/searchV2")
	if len(reqs) == 0 {
		t.Fatal("no searchV2 request")
	}
	r := reqs[0]
	var body string
	if r.Path != "/mt/beta/users/searchV2" || json.Unmarshal([]byte(r.Body), &body) != nil || body != "BROWN" ||
		!strings.Contains(r.Query, "source=newChat") || !strings.Contains(r.Query, "includeDLs=false") ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("X-Skypetoken") == "" {
		t.Fatalf("search request %s?%s body %q headers %v", r.Path, r.Query, r.Body, r.Header)
	}

	// By address.
	p, err := auth.ProfileByEmail(ctx, "BOB@contoso.com")
	if err != nil || p == nil || p.MRI != e.bob.MRI || p.DisplayName != e.bob.Name {
		t.Fatalf("bob by address: %+v, %v", p, err)
	}
	for _, nobody := range []string{"nobody@contoso.com", "boris@fabrikam.example"} {
		if p, err := auth.ProfileByEmail(ctx, nobody); err != nil || p != nil {
			t.Fatalf("%s by address: %+v, %v", nobody, p, err)
		}
	}

	// Switched off.
	e.emu.SetDirectorySearch(false)
	if got, err = auth.SearchPeople(ctx, "bob", 20); !errors.Is(err, ErrDirectorySearchUnavailable) || got != nil {
		t.Fatalf("search without a directory: %v, %v", names(got), err)
	}
	e.emu.SetDirectorySearch(true)
	if got, err = auth.SearchPeople(ctx, "bob", 20); err != nil || len(got) != 1 {
		t.Fatalf("search with the directory back: %v, %v", names(got), err)
	}

	// Teams free.
	ccfg := e.config(Consumer)
	ccfg.MiddleTierURL = e.url + "/mt"
	free, err := NewAuth(ccfg, *e.login(t, ccfg, e.carl.Email), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.emu.Requests("/beta/users/search"))
	if got, err = free.SearchPeople(ctx, "Dana", 20); !errors.Is(err, ErrDirectorySearchUnavailable) {
		t.Fatalf("Teams free search by name: %v, %v", names(got), err)
	}
	if n := len(e.emu.Requests("/beta/users/search")); n != before {
		t.Fatalf("a name search on Teams free went to the service (%d requests)", n-before)
	}
	if got, err = free.SearchPeople(ctx, "Dana@Outlook.com", 20); err != nil || len(got) != 1 || got[0].MRI != e.dana.MRI {
		t.Fatalf("Teams free search by address: %v, %v", names(got), err)
	}
	reqs = e.emu.Requests("/beta/users/searchUsers")
	if len(reqs) != 1 || !strings.Contains(reqs[0].Body, `"emails":["Dana@Outlook.com"]`) {
		t.Fatalf("searchUsers requests %+v", reqs)
	}
	if got, err = free.SearchPeople(ctx, "bob@contoso.com", 20); err != nil || len(got) != 0 {
		t.Fatalf("Teams free finding a work account: %v, %v", names(got), err)
	}
}

// searchServer answers middle tier requests from a script, recording them.
type searchServer struct {
	*authzServer
	mu      sync.Mutex
	reqs    []*http.Request
	bodies  []string
	answers []func(w http.ResponseWriter)
}

func newSearchServer(t *testing.T, answers ...func(w http.ResponseWriter)) *searchServer {
	t.Helper()
	ss := &searchServer{answers: answers}
	ss.authzServer = newAuthzServer(t, 200, `{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x"},"regionGtms":{"chatService":"{URL}/c","middleTier":"{URL}/api/mt/part/emea-02"}}`)
	ss.other = func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/mt/part/emea-02/beta/users/") || r.Header.Get("Authorization") != "Bearer at" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ss.mu.Lock()
		i := min(len(ss.reqs), len(ss.answers)-1)
		ss.reqs = append(ss.reqs, r.Clone(context.Background()))
		ss.bodies = append(ss.bodies, string(body))
		ss.mu.Unlock()
		ss.answers[i](w)
	}
	return ss
}

func (ss *searchServer) hits() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.reqs)
}

func retryAfter(secs string, status int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", secs)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"errorCode":"TooManyRequests","message":"slow down"}`)
	}
}

// TestSearchPeopleAnswerVariants: every shape the people answer comes in,
// and every failure, and what each is to the caller.
func TestSearchPeopleAnswerVariants(t *testing.T) {
	const full = `{"mri":"8:orgid:ali","displayName":" Alina Ortiz ","email":"alina@corp.example","userPrincipalName":"alina@corp.example",
		"jobTitle":"Engineer","department":"R&D","objectId":"ali","givenName":"Alina","surname":"Ortiz","type":"ADUser","tenantName":"Corp","isShortProfile":true}`
	const minimal = `{"mri":"8:orgid:bo"}`
	const noMRI = `{"displayName":"All Staff","email":"staff@corp.example","type":"DL"}`
	ok := func(body string) func(http.ResponseWriter) { return answer(200, "application/json", []byte(body)) }
	for _, tc := range []struct {
		name    string
		answers []func(w http.ResponseWriter)
		mris    []string
		is      error // nil: no error
		not     error // must not match
		retry   time.Duration
		hits    int
		authz   int
	}{
		{name: "value list, all fields", answers: []func(http.ResponseWriter){ok(`{"type":"Microsoft.SkypeSpaces.MiddleTier.Models.IUserIdentity","value":[` + full + `,` + minimal + `]}`)},
			mris: []string{"8:orgid:ali", "8:orgid:bo"}, hits: 1, authz: 1},
		{name: "bare list", answers: []func(http.ResponseWriter){ok(`[` + minimal + `,` + full + `]`)}, mris: []string{"8:orgid:bo", "8:orgid:ali"}, hits: 1, authz: 1},
		{name: "values", answers: []func(http.ResponseWriter){ok(`{"values":[` + full + `]}`)}, mris: []string{"8:orgid:ali"}, hits: 1, authz: 1},
		{name: "results with nodeProfileData", answers: []func(http.ResponseWriter){ok(`{"results":[{"nodeProfileData":` + full + `,"score":1}]}`)}, mris: []string{"8:orgid:ali"}, hits: 1, authz: 1},
		{name: "entries without an MRI are skipped", answers: []func(http.ResponseWriter){ok(`{"value":[` + noMRI + `,` + minimal + `,"junk",null]}`)}, mris: []string{"8:orgid:bo"}, hits: 1, authz: 1},
		{name: "empty list", answers: []func(http.ResponseWriter){ok(`{"value":[]}`)}, hits: 1, authz: 1},
		{name: "null value", answers: []func(http.ResponseWriter){ok(`{"value":null}`)}, hits: 1, authz: 1},
		{name: "empty body", answers: []func(http.ResponseWriter){answer(200, "", nil)}, hits: 1, authz: 1},
		{name: "401 renews once", answers: []func(http.ResponseWriter){answer(401, "application/json", []byte(`{"errorCode":"Unauthorized"}`)), ok(`{"value":[` + minimal + `]}`)},
			mris: []string{"8:orgid:bo"}, hits: 2, authz: 2},
		{name: "401 twice is an error", answers: []func(http.ResponseWriter){answer(401, "application/json", []byte(`{"errorCode":"Unauthorized"}`))},
			is: chatsvc.ErrUnauthorized, not: ErrDirectorySearchUnavailable, hits: 2, authz: 2},
		{name: "429 with a short Retry-After is waited out", answers: []func(http.ResponseWriter){retryAfter("0", 429), ok(`[` + minimal + `]`)},
			mris: []string{"8:orgid:bo"}, hits: 2, authz: 1},
		{name: "429 with a long Retry-After is the error", answers: []func(http.ResponseWriter){retryAfter("120", 429), ok(`[` + minimal + `]`)},
			is: chatsvc.ErrRateLimited, not: ErrDirectorySearchUnavailable, retry: 120 * time.Second, hits: 1, authz: 1},
		{name: "429 twice is the error", answers: []func(http.ResponseWriter){retryAfter("0", 429)},
			is: chatsvc.ErrRateLimited, hits: 2, authz: 1},
		{name: "404 is no directory search", answers: []func(http.ResponseWriter){answer(404, "application/json", []byte(`{"errorCode":"NotFound"}`))},
			is: ErrDirectorySearchUnavailable, hits: 1, authz: 1},
		{name: "400 is no directory search", answers: []func(http.ResponseWriter){answer(400, "application/json", []byte(`{"errorCode":"BadRequest"}`))},
			is: ErrDirectorySearchUnavailable, hits: 1, authz: 1},
		{name: "server error is an error", answers: []func(http.ResponseWriter){answer(503, "application/json", []byte(`{"errorCode":"ServiceUnavailable"}`))},
			is: chatsvc.ErrServer, not: ErrDirectorySearchUnavailable, hits: 1, authz: 1},
		{name: "a page is malformed", answers: []func(http.ResponseWriter){answer(200, "text/html", []byte(`<!doctype html><p>hi`))},
			is: chatsvc.ErrMalformedResponse, hits: 1, authz: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := newSearchServer(t, tc.answers...)
			a := ss.auth(t, Work, "")
			got, err := a.SearchPeople(context.Background(), "ali", 20)
			if tc.is == nil && err != nil || tc.is != nil && !errors.Is(err, tc.is) || tc.not != nil && errors.Is(err, tc.not) {
				t.Fatalf("error %v, want %v (not %v)", err, tc.is, tc.not)
			}
			var ce *chatsvc.Error
			if tc.retry != 0 && (!errors.As(err, &ce) || ce.RetryAfter != tc.retry) {
				t.Fatalf("error %v, want Retry-After %v", err, tc.retry)
			}
			var mris []string
			for _, p := range got {
				mris = append(mris, p.MRI)
			}
			if strings.Join(mris, ",") != strings.Join(tc.mris, ",") {
				t.Fatalf("found %v, want %v", mris, tc.mris)
			}
			ss.mu.Lock()
			authz := len(ss.authz)
			ss.mu.Unlock()
			if ss.hits() != tc.hits || authz != tc.authz {
				t.Fatalf("%d search requests and %d authz calls, want %d and %d", ss.hits(), authz, tc.hits, tc.authz)
			}
			r := ss.reqs[0]
			if r.Method != http.MethodPost || r.URL.Path != "/api/mt/part/emea-02/beta/users/searchV2" || ss.bodies[0] != `"ali"` ||
				r.URL.Query().Get("source") != "newChat" || r.URL.Query().Get("includeBots") != "false" || r.URL.Query().Get("enableGuest") != "true" ||
				r.Header.Get("X-Skypetoken") == "" || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("request %s %s body %q headers %v", r.Method, r.URL, ss.bodies[0], r.Header)
			}
		})
	}
}

// TestSearchPeopleKeepsEveryField: the full answer's fields reach the
// caller, trimmed; a minimal one leaves the rest empty.
func TestSearchPeopleKeepsEveryField(t *testing.T) {
	ss := newSearchServer(t, answer(200, "application/json", []byte(`{"value":[{"mri":" 8:orgid:ali ","displayName":" Alina Ortiz ","email":"alina@corp.example",
		"userPrincipalName":"alina.o@corp.example","objectId":"ali","givenName":"Alina","surname":"Ortiz","type":"ADUser"},{"mri":"8:orgid:bo","displayName":null}]}`)))
	got, err := ss.auth(t, Work, "").SearchPeople(context.Background(), "a", 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("%+v, %v", got, err)
	}
	want := Profile{MRI: "8:orgid:ali", DisplayName: "Alina Ortiz", Email: "alina@corp.example", UserPrincipalName: "alina.o@corp.example",
		ObjectID: "ali", GivenName: "Alina", Surname: "Ortiz", Type: "ADUser"}
	if got[0] != want || got[1] != (Profile{MRI: "8:orgid:bo"}) {
		t.Fatalf("got %+v", got)
	}
}

// TestProfileByEmailAnswerVariants: the address lookup's answers.
func TestProfileByEmailAnswerVariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		mri    string
		is     error
	}{
		{name: "value object", answer: answer(200, "application/json", []byte(`{"value":{"mri":"8:orgid:ali","email":"Alina@corp.example","displayName":"Alina"}}`)), mri: "8:orgid:ali"},
		{name: "value list", answer: answer(200, "application/json", []byte(`{"value":[{"mri":"8:orgid:ali","userPrincipalName":"alina@corp.example"}]}`)), mri: "8:orgid:ali"},
		{name: "bare person without the address", answer: answer(200, "application/json", []byte(`{"mri":"8:orgid:ali","displayName":"Alina"}`)), mri: "8:orgid:ali"},
		{name: "someone else is nobody", answer: answer(200, "application/json", []byte(`{"value":{"mri":"8:orgid:x","email":"x@corp.example"}}`))},
		{name: "null is nobody", answer: answer(200, "application/json", []byte(`{"value":null}`))},
		{name: "404 is nobody", answer: answer(404, "application/json", []byte(`{"errorCode":"UserNotFound"}`))},
		{name: "400 is no lookup", answer: answer(400, "application/json", []byte(`{"errorCode":"BadRequest"}`)), is: ErrDirectorySearchUnavailable},
		{name: "server error", answer: answer(500, "application/json", []byte(`{}`)), is: chatsvc.ErrServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := newSearchServer(t, tc.answer)
			p, err := ss.auth(t, Work, "").ProfileByEmail(context.Background(), "alina@corp.example")
			if tc.is == nil && err != nil || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			if tc.mri == "" && p != nil || tc.mri != "" && (p == nil || p.MRI != tc.mri) {
				t.Fatalf("got %+v, want %q", p, tc.mri)
			}
			r := ss.reqs[0]
			q := r.URL.Query()
			if r.Method != http.MethodGet || r.URL.Path != "/api/mt/part/emea-02/beta/users/alina@corp.example" ||
				q.Get("isMailAddress") != "true" || q.Get("throwIfNotFound") != "false" || q.Get("enableGuest") != "true" {
				t.Fatalf("request %s %s", r.Method, r.URL)
			}
		})
	}
}

// TestSearchPeopleNeedsTheMiddleTierHost: without a middle tier from the
// authz answer or the config, no token and no query go anywhere.
func TestSearchPeopleNeedsTheMiddleTierHost(t *testing.T) {
	as := newAuthzServer(t, 200, `{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x"},"regionGtms":{"chatService":"{URL}/c"}}`)
	var stray int
	as.other = func(w http.ResponseWriter, r *http.Request) {
		stray++
		_, _ = io.WriteString(w, "[]")
	}
	a := as.auth(t, Work, "")
	if _, err := a.SearchPeople(context.Background(), "ali", 20); !errors.Is(err, ErrForeignHost) || stray != 0 {
		t.Fatalf("search: error %v, %d requests elsewhere", err, stray)
	}
	if _, err := a.ProfileByEmail(context.Background(), "ali@corp.example"); !errors.Is(err, ErrForeignHost) || stray != 0 {
		t.Fatalf("lookup: error %v, %d requests elsewhere", err, stray)
	}
}
