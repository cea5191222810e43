package ucwaemu

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func (e *Emulator) handleContacts(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	var refs, contacts []obj
	for _, addr := range a.user.contacts {
		if u, found := e.users[addr]; found {
			refs = append(refs, link(a.base()+"/people/"+u.addr))
			contacts = append(contacts, e.contactResource(a, u))
		}
	}
	links := obj{"self": link(a.base() + "/people/contacts")}
	res := obj{"rel": "myContacts", "_links": links}
	if len(refs) > 0 {
		links["contact"] = refs
		res["_embedded"] = obj{"contact": contacts}
	}
	writeJSON(w, http.StatusOK, res)
}

func (e *Emulator) handleSearch(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	query := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("query")))
	if query == "" {
		badRequest(w, "query is required.")
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			badRequest(w, "limit must be a positive integer.")
			return
		}
		limit = n
	}
	var matches []*user
	for _, u := range e.users {
		if strings.Contains(strings.ToLower(u.name), query) || strings.Contains(u.addr, query) {
			matches = append(matches, u)
		}
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].addr < matches[j].addr })
	more := len(matches) > limit
	if more {
		matches = matches[:limit]
	}
	contacts := make([]obj, 0, len(matches))
	for _, u := range matches {
		contacts = append(contacts, e.contactResource(a, u))
	}
	writeJSON(w, http.StatusOK, obj{
		"rel": "search", "moreResultsAvailable": more,
		"_links":    obj{"self": link(a.base() + "/people/search?query=" + url.QueryEscape(query))},
		"_embedded": obj{"contact": contacts},
	})
}

// personFor finds the user named in the path. Caller holds e.mu.
func (e *Emulator) personFor(w http.ResponseWriter, r *http.Request) (*application, *user, bool) {
	a, ok := e.authApp(w, r)
	if !ok {
		return nil, nil, false
	}
	u, err := e.lookup(r.PathValue("addr"))
	if err != nil {
		writeError(w, http.StatusNotFound, "", "No such person.")
		return nil, nil, false
	}
	return a, u, true
}

func (e *Emulator) handleContact(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, u, ok := e.personFor(w, r); ok {
		writeJSON(w, http.StatusOK, e.contactResource(a, u))
	}
}

func (e *Emulator) handleContactPresence(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, u, ok := e.personFor(w, r); ok {
		writeJSON(w, http.StatusOK, e.contactPresenceResource(a, u))
	}
}

// handlePhoto serves photos to a bearer token or to the cwt_ucwa cookie
// set when the application was created.
func (e *Emulator) handlePhoto(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, found := e.apps[r.PathValue("app")]; found && !a.deleted {
		if ck, err := r.Cookie("cwt_ucwa"); err == nil && ck.Value == a.cookie {
			e.writePhoto(w, r)
			return
		}
	}
	if _, ok := e.authApp(w, r); ok {
		e.writePhoto(w, r)
	}
}

func (e *Emulator) writePhoto(w http.ResponseWriter, r *http.Request) {
	u, err := e.lookup(r.PathValue("addr"))
	if err != nil || len(u.photo) == 0 {
		writeError(w, http.StatusNotFound, "", "No photo.")
		return
	}
	w.Header().Set("Content-Type", u.photoType)
	w.Header().Set("Content-Length", strconv.Itoa(len(u.photo)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(u.photo)
}
