package ucwaemu

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type application struct {
	id           string
	user         *user
	endpointID   string
	userAgent    string
	culture      string
	guid         string // the per-application "please pass this in a PUT request" property
	etag         int
	cookie       string
	created      time.Time
	available    bool
	availability string
	formats      []string // message formats offered in makeMeAvailable
	lastActivity time.Time
	lastRelease  time.Time
	deleted      bool
	queue        eventQueue
	expiry       *serverTimer
	convs        map[string]*appConv    // by conversation id
	invs         map[string]*invitation // by invitation id
	pinvs        map[string]*participantInvitation
}

func (a *application) base() string { return appsPath + "/" + a.id }

func (a *application) eventsHref(ack int) string {
	return a.base() + "/events?ack=" + strconv.Itoa(ack)
}

func (a *application) supportsHTML() bool {
	for _, f := range a.formats {
		if strings.EqualFold(f, "Html") {
			return true
		}
	}
	return false
}

// availableApps lists u's applications that accept invitations, oldest
// first. Caller holds e.mu.
func (e *Emulator) availableApps(u *user) []*application {
	var out []*application
	for _, a := range e.apps {
		if a.user == u && a.available && !a.deleted {
			out = append(out, a)
		}
	}
	sortApps(out)
	return out
}

func sortApps(apps []*application) {
	slices.SortStableFunc(apps, func(x, y *application) int { return x.created.Compare(y.created) })
}

// authApp authenticates the request and finds the application named in
// its path, answering 401/404/403 itself. Caller holds e.mu.
func (e *Emulator) authApp(w http.ResponseWriter, r *http.Request) (*application, bool) {
	u, ok := e.authUser(w, r)
	if !ok {
		return nil, false
	}
	a, found := e.apps[r.PathValue("app")]
	if !found || a.deleted {
		writeError(w, http.StatusNotFound, "ApplicationNotFound", "The application resource does not exist.")
		return nil, false
	}
	if a.user != u {
		writeError(w, http.StatusForbidden, "", "The application belongs to another user.")
		return nil, false
	}
	return a, true
}

// decodeBody reads a JSON object and lower-cases its keys: the server
// treats property names case-insensitively (UserAgent == userAgent).
func decodeBody(r *http.Request) (map[string]json.RawMessage, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return out, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	for k, v := range raw {
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

func bodyString(m map[string]json.RawMessage, key string) string {
	var s string
	_ = json.Unmarshal(m[strings.ToLower(key)], &s)
	return s
}

func bodyStrings(m map[string]json.RawMessage, key string) []string {
	var s []string
	_ = json.Unmarshal(m[strings.ToLower(key)], &s)
	return s
}

func (e *Emulator) handleCreateApp(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.authUser(w, r)
	if !ok {
		return
	}
	body, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	ua, ep, culture := bodyString(body, "userAgent"), bodyString(body, "endpointId"), bodyString(body, "culture")
	for _, v := range []string{ua, ep, culture} {
		if v == "" || len(v) > 100 {
			writeError(w, http.StatusBadRequest, "ParameterValidationFailure", "userAgent, endpointId and culture are required (max 100 characters).")
			return
		}
	}
	// Same endpoint and user agent: the server hands back the live
	// application (multi-tab behaviour) with 200 instead of 201.
	for _, a := range e.apps {
		if a.user == u && !a.deleted && a.endpointID == ep && a.userAgent == ua {
			e.writeCreatedApp(w, http.StatusOK, a)
			return
		}
	}
	a := &application{
		id: newAppID(), user: u, endpointID: ep, userAgent: ua, culture: culture,
		guid: newGUID(), etag: newETag(), cookie: randomHex(24),
		created: e.opts.Clock.Now(), availability: "Online",
		convs: map[string]*appConv{}, invs: map[string]*invitation{}, pinvs: map[string]*participantInvitation{},
	}
	e.apps[a.id] = a
	e.released(a) // the expiry countdown starts until the first event request
	http.SetCookie(w, &http.Cookie{Name: "cwt_ucwa", Value: a.cookie, Path: a.base() + "/photos", Secure: true, HttpOnly: true})
	e.writeCreatedApp(w, http.StatusCreated, a)
	e.notifyLocked()
}

func (e *Emulator) writeApp(w http.ResponseWriter, status int, a *application) {
	w.Header().Set("ETag", `"`+strconv.Itoa(a.etag)+`"`)
	writeJSON(w, status, e.appResource(a))
}

// writeCreatedApp answers application creation: the resource, or only its
// Location when the options say so.
func (e *Emulator) writeCreatedApp(w http.ResponseWriter, status int, a *application) {
	if !e.opts.CreateApplicationLocationOnly {
		e.writeApp(w, status, a)
		return
	}
	w.Header().Set("ETag", `"`+strconv.Itoa(a.etag)+`"`)
	w.Header().Set("Location", a.base())
	w.WriteHeader(status)
}

func (e *Emulator) handleGetApp(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.authApp(w, r); ok {
		e.writeApp(w, http.StatusOK, a)
	}
}

func (e *Emulator) handleDeleteApp(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.authApp(w, r); ok {
		e.deleteApp(a, "")
		w.WriteHeader(http.StatusNoContent)
	}
}

// deleteApp removes an application as the server does on DELETE or
// expiry: its conversations end for everyone else and a parked event
// request gets 404. Caller holds e.mu.
func (e *Emulator) deleteApp(a *application, why string) {
	if a.deleted {
		return
	}
	e.resetTransient(a)
	a.deleted = true
	e.cancel(a.expiry)
	a.expiry = nil
	for _, qe := range a.queue.pending {
		e.cancel(qe.expiry)
	}
	a.queue.pending = nil
	msg := "The application resource does not exist."
	if why != "" {
		msg = "The application was deleted by the server (" + why + ")."
	}
	e.releaseParked(a, http.StatusNotFound, errorBody(http.StatusNotFound, "ApplicationNotFound", msg))
	delete(e.apps, a.id)
	e.notifyLocked()
}

// DeleteApplication drops an application as the server does after
// inactivity: the next request for it gets 404 ApplicationNotFound.
func (e *Emulator) DeleteApplication(appID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if ok {
		e.deleteApp(a, "test driver")
	}
	return ok
}

func (e *Emulator) handleMakeMeAvailable(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	body, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	if a.available {
		writeError(w, http.StatusConflict, "AlreadyExists", "makeMeAvailable was already called.")
		return
	}
	for _, m := range bodyStrings(body, "supportedModalities") {
		if !strings.EqualFold(m, "Messaging") && !strings.EqualFold(m, "PhoneAudio") {
			writeError(w, http.StatusForbidden, "", "Modality "+m+" is not supported.")
			return
		}
	}
	a.available = true
	a.formats = bodyStrings(body, "supportedMessageFormats")
	if len(a.formats) == 0 {
		a.formats = []string{"Plain"}
	}
	if s := bodyString(body, "signInAs"); s != "" {
		a.availability = s
	}
	a.lastActivity = e.opts.Clock.Now()
	a.etag++
	me := a.base() + "/me"
	e.emit(a, false,
		item{"me", me, obj{"type": "updated", "link": obj{"rel": "me", "href": me}}},
		item{"me", me, obj{"type": "added", "link": obj{"rel": "presence", "href": me + "/presence"}}},
		item{"me", me, obj{"type": "added", "link": obj{"rel": "note", "href": me + "/note"}}},
		item{"me", me, obj{"type": "added", "link": obj{"rel": "location", "href": me + "/location"}}},
		item{"communication", a.base() + "/communication", obj{
			"type":      "updated",
			"link":      obj{"rel": "communication", "href": a.base() + "/communication"},
			"_embedded": obj{"communication": e.communicationResource(a)},
		}},
	)
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) handleReportActivity(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	if !a.available {
		writeError(w, http.StatusConflict, "MakeMeAvailableRequired", "Call makeMeAvailable first.")
		return
	}
	a.lastActivity = e.opts.Clock.Now()
	w.WriteHeader(http.StatusNoContent)
	e.notifyLocked()
}

func (e *Emulator) handleMe(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.authApp(w, r); ok {
		writeJSON(w, http.StatusOK, e.meResource(a))
	}
}

func (e *Emulator) handlePeople(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.authApp(w, r); ok {
		writeJSON(w, http.StatusOK, peopleResource(a))
	}
}

func (e *Emulator) handleOnlineMeetings(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.authApp(w, r); ok {
		writeJSON(w, http.StatusOK, onlineMeetingsResource(a))
	}
}

func (e *Emulator) handleCommunication(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.authApp(w, r); ok {
		writeJSON(w, http.StatusOK, e.communicationResource(a))
	}
}

func (e *Emulator) handlePresence(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.authApp(w, r)
	if !ok {
		return
	}
	if !a.available {
		writeError(w, http.StatusConflict, "MakeMeAvailableRequired", "Call makeMeAvailable first.")
		return
	}
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, obj{"rel": "presence", "availability": a.availability,
			"_links": obj{"self": link(a.base() + "/me/presence")}})
		return
	}
	body, err := decodeBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DeserializationFailure", "The request body is not valid JSON.")
		return
	}
	switch v := bodyString(body, "availability"); v {
	case "":
		a.availability = "Online"
	case "Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offwork":
		a.availability = v
	default:
		writeError(w, http.StatusBadRequest, "ParameterValidationFailure", "Unknown availability "+v+".")
		return
	}
	w.WriteHeader(http.StatusNoContent)
	e.notifyLocked()
}

// AppInfo describes an application for tests.
type AppInfo struct {
	ID           string
	EndpointID   string
	Available    bool
	LastActivity time.Time
	Ack          int // number of the last batch handed out
	Pending      int // events not yet handed out
	Polling      bool
}

// Applications lists the live applications of a user.
func (e *Emulator) Applications(sip string) []AppInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.lookup(sip)
	if err != nil {
		return nil
	}
	var apps []*application
	for _, a := range e.apps {
		if a.user == u && !a.deleted {
			apps = append(apps, a)
		}
	}
	sortApps(apps)
	out := make([]AppInfo, 0, len(apps))
	for _, a := range apps {
		out = append(out, AppInfo{
			ID: a.id, EndpointID: a.endpointID, Available: a.available, LastActivity: a.lastActivity,
			Ack: a.queue.ack, Pending: len(a.queue.pending), Polling: a.queue.parked != nil,
		})
	}
	return out
}

// ReplacePGet answers the application's parked event request with 409
// PGetReplaced, as when another instance polls the same application.
func (e *Emulator) ReplacePGet(appID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok || a.queue.parked == nil {
		return false
	}
	e.releaseParked(a, http.StatusConflict, errorBody(http.StatusConflict, "PGetReplaced", "The pending GET was replaced by a newer one."))
	return true
}

// ForceResume makes the application's next batch carry a resume link
// after closing its conversations, as after long inactivity.
func (e *Emulator) ForceResume(appID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[appID]
	if !ok {
		return false
	}
	e.resetTransient(a)
	if a.queue.parked != nil {
		e.releaseParked(a, http.StatusOK, e.takeBatch(a))
	}
	return true
}
