package teamsemu

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// CSAScope is the audience of the chat service aggregator (teams list).
const CSAScope = "https://chatsvcagg.teams.microsoft.com/.default"

// handleProfiles serves the middle tier's POST /beta/users/fetchShortProfile:
// bearer token and skypetoken, body a JSON array of MRIs.
func (e *Emulator) handleProfiles(w http.ResponseWriter, r *http.Request) {
	var mris []string
	if err := json.NewDecoder(r.Body).Decode(&mris); err != nil {
		svcError(w, http.StatusBadRequest, "BadRequest", "body must be a JSON array of MRIs")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bearerUserLocked(r, "") == nil || e.skypeUserLocked(r) == nil {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "bearer token and X-Skypetoken required")
		return
	}
	out := []map[string]any{}
	for _, mri := range mris {
		u := e.users[mri]
		if u == nil {
			continue
		}
		given, sur, _ := strings.Cut(u.Name, " ")
		typ := "ADUser"
		if u.Consumer {
			typ = "MSA"
		}
		out = append(out, map[string]any{"mri": u.MRI, "displayName": u.Name, "email": u.Email, "userPrincipalName": u.Email,
			"objectId": u.OID, "givenName": given, "surname": sur, "type": typ, "tenantId": u.Tenant})
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": "Microsoft.SkypeSpaces.MiddleTier.Models.IUserIdentity", "value": out})
}

// handleTeams serves the aggregator's GET /api/v1/teams/users/me.
func (e *Emulator) handleTeams(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.bearerUserLocked(r, CSAScope)
	if u == nil || e.skypeUserLocked(r) != u {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "CSA bearer token and X-Skypetoken required")
		return
	}
	teams := []map[string]any{}
	for _, root := range e.convs {
		if root.threadType != "space" || !root.isMember(u.MRI) {
			continue
		}
		var chans []*conv
		for _, c := range e.convs {
			if c.team == root.id && c.isMember(u.MRI) {
				chans = append(chans, c)
			}
		}
		sort.Slice(chans, func(i, j int) bool { return chans[i].created < chans[j].created })
		var cv []map[string]any
		for _, c := range chans {
			name := c.topic
			if c.general {
				name = "General" // the root's topic is the team's name
			}
			cv = append(cv, map[string]any{"id": c.id, "displayName": name, "isGeneral": c.general, "parentTeamId": root.id})
		}
		teams = append(teams, map[string]any{"id": root.id, "displayName": root.topic, "channels": cv})
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i]["id"].(string) < teams[j]["id"].(string) })
	writeJSON(w, http.StatusOK, map[string]any{"teams": teams, "chats": []any{}})
}

// handlePresence serves getpresence and forceavailability.
func (e *Emulator) handlePresence(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/presence"), "/")
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.skypeUserLocked(r)
	if u == nil {
		u = e.bearerUserLocked(r, "")
	}
	if u == nil {
		svcError(w, http.StatusUnauthorized, "Unauthorized", "presence needs a bearer token or X-Skypetoken")
		return
	}
	switch {
	case p == "/v1/presence/getpresence" && r.Method == http.MethodPost:
		var req []struct {
			MRI string `json:"mri"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req) > 650 {
			svcError(w, http.StatusBadRequest, "BadRequest", "body must be at most 650 {\"mri\":...} objects")
			return
		}
		out := []map[string]any{}
		for _, q := range req {
			who := e.users[q.MRI]
			if who == nil {
				continue
			}
			avail := firstNonEmpty(who.Availability, "Available")
			out = append(out, map[string]any{"mri": who.MRI, "etag": randHex(4), "presence": map[string]any{
				"availability": avail, "activity": avail, "deviceType": "Web", "sourceNetwork": "Self",
				"lastActiveTime": e.now().UTC().Format("2006-01-02T15:04:05.00Z"), "capabilities": []string{}, "calendarData": map[string]any{"isOutOfOffice": false}}})
		}
		writeJSON(w, http.StatusOK, out)
	case p == "/v1/me/forceavailability" && r.Method == http.MethodPut:
		var body struct {
			Availability string `json:"availability"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Availability == "" {
			svcError(w, http.StatusBadRequest, "BadRequest", "availability is required")
			return
		}
		u.Availability = body.Availability
		e.broadcast()
		w.WriteHeader(http.StatusOK)
	default:
		svcError(w, http.StatusNotFound, "NotFound", "no such presence resource")
	}
}

// Availability is the user's current presence.
func (e *Emulator) Availability(mri string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return firstNonEmpty(e.mustUser(mri).Availability, "Available")
}
