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
	"maunium.net/go/mautrix/bridgev2/provisionutil"

	"github.com/imbridge/imbridge/bridge"
)

func TestProvisioningRoutesByIdentifier(t *testing.T) {
	h, _, _ := twoNetworks(t, nil)
	named := 0
	mux := h.Connector.(*bridge.Connector).ProvisioningMux(
		func(*http.Request) *bridgev2.User { return h.User(alice) },
		func(w http.ResponseWriter, r *http.Request) { named++; w.WriteHeader(http.StatusTeapot) },
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

	// A request that names its login is bridgev2's business.
	if rec, _ = do("GET", v3+"/resolve_identifier/x?login_id=lync.alice@corp.example", ""); rec.Code != http.StatusTeapot || named != 1 {
		t.Errorf("a request with login_id did not reach bridgev2's handler: %d", rec.Code)
	}
}
