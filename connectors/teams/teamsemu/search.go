package teamsemu

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// The middle tier's people search and address lookup:
//
//   - POST /beta/users/searchV2?... (work): the body is the query as a JSON
//     string; people of the searcher's tenant whose display name has a word
//     starting with the query, or whose e-mail address starts with it.
//   - POST /beta/users/searchUsers (Teams free): {"emails":[...],"phones":[...]},
//     exact addresses among Teams free accounts; no search by name.
//   - GET /beta/users/{email}?isMailAddress=true&throwIfNotFound=false: one
//     person by address (or by MRI with isMailAddress=false), {"value":null}
//     when nobody has it.
//
// SetDirectorySearch(false) makes both searches answer 404, as a middle tier
// that offers none does.

// searchFaultPath is what the directory-off fault matches: both searches.
const searchFaultPath = "/mt/beta/users/search"

// searchOffBody marks the fault SetDirectorySearch injects, so it can find
// (and remove) its own among the test's other faults.
const searchOffBody = `{"errorCode":"NotFound","message":"directory search is not available (emulator)"}`

// searchMax is how many people a search answers at most (the service's page).
const searchMax = 25

// isSearchRoute reports the routes handleSearch serves.
func isSearchRoute(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && (p == "/mt/beta/users/searchV2" || p == "/mt/beta/users/searchUsers"):
		return true
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/mt/beta/users/"):
		rest := strings.Trim(strings.TrimPrefix(p, "/mt/beta/users/"), "/")
		return rest != "" && !strings.Contains(rest, "/") && rest != "tenants"
	}
	return false
}

// SetDirectorySearch turns the middle tier's people searches on (the
// default) or off; off, they answer 404.
func (e *Emulator) SetDirectorySearch(available bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.faults[:0:0]
	for _, f := range e.faults {
		if !(f.PathContains == searchFaultPath && f.Body == searchOffBody) {
			kept = append(kept, f)
		}
	}
	e.faults = kept
	if !available {
		e.faults = append(e.faults, &Fault{Method: http.MethodPost, PathContains: searchFaultPath, Status: http.StatusNotFound, Body: searchOffBody})
	}
	e.broadcast()
}

// AddUserInTenant adds a work account of another organisation (tenant),
// whom a directory search from the default tenant must not find.
func (e *Emulator) AddUserInTenant(email, name, tenant string) *User {
	oid := randUUID()
	return e.addUser(&User{MRI: "8:orgid:" + oid, Name: name, Email: email, Tenant: tenant, OID: oid, Licensed: true})
}

// handleSearch serves the routes isSearchRoute names.
func (e *Emulator) handleSearch(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	me := e.bearerUserLocked(r, "")
	if me == nil || e.skypeUserLocked(r) != me {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "bearer token and X-Skypetoken required")
		return
	}
	switch r.URL.Path {
	case "/mt/beta/users/searchV2":
		e.searchDirectoryLocked(w, r, me)
	case "/mt/beta/users/searchUsers":
		e.searchAddressesLocked(w, r, me)
	default:
		e.lookupUserLocked(w, r, me)
	}
}

func (e *Emulator) searchDirectoryLocked(w http.ResponseWriter, r *http.Request, me *User) {
	if me.Consumer {
		svcError(w, http.StatusNotFound, "NotFound", "no directory search for Teams free accounts")
		return
	}
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		svcError(w, http.StatusBadRequest, "BadRequest", "body must be the query as a JSON string")
		return
	}
	var query string
	if err := json.Unmarshal(raw, &query); err != nil {
		// Some callers wrap it: {"queryText":"..."}.
		var obj struct {
			QueryText string `json:"queryText"`
		}
		if json.Unmarshal(raw, &obj) != nil || obj.QueryText == "" {
			svcError(w, http.StatusBadRequest, "BadRequest", "body must be the query as a JSON string")
			return
		}
		query = obj.QueryText
	}
	query = strings.ToLower(strings.TrimSpace(query))
	if query == "" {
		svcError(w, http.StatusBadRequest, "BadRequest", "empty query")
		return
	}
	var found []*User
	for _, u := range e.users {
		if u.Consumer || u.Tenant != me.Tenant {
			continue
		}
		if strings.HasPrefix(strings.ToLower(u.Email), query) || nameWordPrefix(u.Name, query) {
			found = append(found, u)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if a, b := strings.ToLower(found[i].Name), strings.ToLower(found[j].Name); a != b {
			return a < b
		}
		return found[i].MRI < found[j].MRI
	})
	e.writePeopleLocked(w, found)
}

func (e *Emulator) searchAddressesLocked(w http.ResponseWriter, r *http.Request, me *User) {
	if !me.Consumer {
		svcError(w, http.StatusNotFound, "NotFound", "searchUsers is the Teams free lookup")
		return
	}
	var body struct {
		Emails []string `json:"emails"`
		Phones []string `json:"phones"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		svcError(w, http.StatusBadRequest, "BadRequest", `body must be {"emails":[...],"phones":[...]}`)
		return
	}
	var found []*User
	seen := map[*User]bool{}
	for _, addr := range body.Emails {
		if u := e.usersByKey[strings.ToLower(strings.TrimSpace(addr))]; u != nil && u.Consumer && !seen[u] {
			seen[u] = true
			found = append(found, u)
		}
	}
	e.writePeopleLocked(w, found) // the emulator models no phone numbers
}

func (e *Emulator) lookupUserLocked(w http.ResponseWriter, r *http.Request, me *User) {
	seg := pathSegments(r)
	key := seg[len(seg)-1]
	var u *User
	if strings.EqualFold(r.URL.Query().Get("isMailAddress"), "true") {
		u = e.usersByKey[strings.ToLower(key)]
	} else {
		u = e.users[key]
	}
	if u != nil && (u.Consumer != me.Consumer || !u.Consumer && u.Tenant != me.Tenant) {
		u = nil // other organisations' people are not in this directory
	}
	if u == nil {
		if strings.EqualFold(r.URL.Query().Get("throwIfNotFound"), "false") {
			writeJSON(w, http.StatusOK, map[string]any{"type": "Microsoft.SkypeSpaces.MiddleTier.Models.IUserIdentity", "value": nil})
			return
		}
		svcError(w, http.StatusNotFound, "UserNotFound", "no such user")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": "Microsoft.SkypeSpaces.MiddleTier.Models.IUserIdentity", "value": profileView(u)})
}

func (e *Emulator) writePeopleLocked(w http.ResponseWriter, found []*User) {
	if len(found) > searchMax {
		found = found[:searchMax]
	}
	out := []map[string]any{}
	for _, u := range found {
		out = append(out, profileView(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": "Microsoft.SkypeSpaces.MiddleTier.Models.IUserIdentity", "value": out})
}

// profileView is a person as the middle tier's people answers show them.
func profileView(u *User) map[string]any {
	given, sur, _ := strings.Cut(u.Name, " ")
	typ := "ADUser"
	if u.Consumer {
		typ = "MSA"
	}
	return map[string]any{"mri": u.MRI, "displayName": u.Name, "email": u.Email, "userPrincipalName": u.Email,
		"objectId": u.OID, "givenName": given, "surname": sur, "type": typ, "tenantId": u.Tenant}
}

// nameWordPrefix reports whether a word of name (or the whole name) starts
// with query, ignoring case.
func nameWordPrefix(name, query string) bool {
	name = strings.ToLower(name)
	if strings.HasPrefix(name, query) {
		return true
	}
	for _, word := range strings.Fields(name) {
		if strings.HasPrefix(word, query) {
			return true
		}
	}
	return false
}
