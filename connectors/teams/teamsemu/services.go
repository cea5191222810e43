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
			cv = append(cv, map[string]any{"id": c.id, "displayName": c.topic, "isGeneral": c.general, "parentTeamId": root.id})
		}
		teams = append(teams, map[string]any{"id": root.id, "displayName": root.topic, "channels": cv})
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i]["id"].(string) < teams[j]["id"].(string) })
	writeJSON(w, http.StatusOK, map[string]any{"teams": teams, "chats": []any{}})
}
