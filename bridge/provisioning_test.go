package bridge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/provisionutil"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/ids"
)

func TestProvisioningRoutesByIdentifier(t *testing.T) {
	h, _, teams := twoNetworks(t, nil)
	named := 0
	var namedLogin string
	mux := h.Connector.(*bridge.Connector).ProvisioningMux(
		func(*http.Request) *bridgev2.User { return h.User(alice) },
		func(w http.ResponseWriter, r *http.Request) {
			named++
			namedLogin = r.URL.Query().Get("login_id")
			w.WriteHeader(http.StatusTeapot)
		},
	)
	do := func(method, path, body string) (*httptest.ResponseRecorder, map[string]any) {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec, out
	}
	const v3 = "/_matrix/provision/v3"
	for ident, want := range map[string]string{
		"teams:bob@corp.example": "teams.bob@corp.example", "lync:bob@contoso.example": "lync.bob@contoso.example",
		"carol@contoso.example": "teams.carol@contoso.example", "dave@corp.example": "lync.dave@corp.example",
	} {
		rec, out := do("GET", v3+"/resolve_identifier/"+url.PathEscape(ident), "")
		if rec.Code != http.StatusOK || out["id"] != want {
			t.Errorf("resolve_identifier %s: %d %s, want id %s", ident, rec.Code, rec.Body, want)
		}
	}
	rec, out := do("POST", v3+"/create_dm/"+url.PathEscape("teams:erin@corp.example"), "")
	if rec.Code != http.StatusCreated || out["id"] != "teams.erin@corp.example" || out["dm_room_mxid"] == nil {
		t.Errorf("create_dm: %d %s", rec.Code, rec.Body)
	}
	rec, out = do("GET", v3+"/resolve_identifier/"+url.PathEscape("skype:x"), "")
	if rec.Code != http.StatusNotFound || !strings.Contains(fmt.Sprint(out["error"]), "no skype login") {
		t.Errorf("resolve_identifier on a network without login: %d %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", v3+"/search_users", strings.NewReader(`{"query":"bob"}`)))
	var search provisionutil.RespSearchUsers
	if err := json.Unmarshal(rec.Body.Bytes(), &search); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("search_users: %d %s", rec.Code, rec.Body)
	}
	var found []string
	for _, r := range search.Results {
		found = append(found, string(r.ID))
	}
	if strings.Join(found, ",") != "lync.bob@lync.example,teams.bob@teams.example" {
		t.Errorf("search_users across logins found %v", found)
	}

	// contacts: every login's.
	rec, _ = do("GET", v3+"/contacts", "")
	if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `"id":`) != 2 ||
		!strings.Contains(rec.Body.String(), "lync.peer@example.com") || !strings.Contains(rec.Body.String(), "teams.peer@example.com") {
		t.Errorf("contacts across logins: %d %s", rec.Code, rec.Body)
	}

	// A request that names its login is bridgev2's business.
	if rec, _ = do("GET", v3+"/resolve_identifier/x?login_id=lync.alice@corp.example", ""); rec.Code != http.StatusTeapot || named != 1 || namedLogin != "lync.alice@corp.example" {
		t.Errorf("a request with login_id did not reach bridgev2's handler: %d", rec.Code)
	}
	// create_group and backfill get the login of the group type's / room's network.
	if rec, _ = do("POST", v3+"/create_group/teams.group", "{}"); rec.Code != http.StatusTeapot || namedLogin != string(teamsLogin) {
		t.Errorf("create_group/teams.group went to %q (%d)", namedLogin, rec.Code)
	}
	if rec, _ = do("POST", v3+"/create_group/skype.group", "{}"); rec.Code != http.StatusNotFound {
		t.Errorf("create_group for a network without login: %d %s", rec.Code, rec.Body)
	}
	teams.Clients[teamsLogin].Receive("c9", "m9", "hi")
	room := h.PortalRoom(networkid.PortalKey{ID: ids.PortalID(ids.Teams, "c9"), Receiver: teamsLogin})
	if rec, _ = do("POST", v3+"/backfill/"+url.PathEscape(string(room)), ""); rec.Code != http.StatusTeapot || namedLogin != string(teamsLogin) {
		t.Errorf("backfill of a teams room went to %q (%d)", namedLogin, rec.Code)
	}
}
