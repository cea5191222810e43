package teams

import (
	"strings"
	"testing"

	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

func TestConfigEndpointsNeedTheInsecureSwitch(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		wantErr  string
	}{
		{"https://login.microsoftonline.us", false, ""},
		{"http://login.example", false, "https"},
		{"http://login.example", true, ""},
		{"https://127.0.0.1:8443", false, "private"},
		{"https://10.1.2.3", false, "private"},
		{"https://localhost:8443", false, "local"},
		{"https://127.0.0.1:8443", true, ""},
		{"ftp://x.example", true, "scheme"},
		{"not a url", true, "absolute"},
	} {
		c := New().Config
		c.CredentialKey = "test-key"
		c.Work.LoginURL = tc.url
		c.AllowInsecureHTTP = tc.insecure
		err := c.validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s (insecure %t): %v", tc.url, tc.insecure, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s (insecure %t): error %v, want one about %q", tc.url, tc.insecure, err, tc.wantErr)
		}
	}
}

func TestConfigReachesTheClientPerDeployment(t *testing.T) {
	c := New().Config
	c.Tenant = "contoso.onmicrosoft.com"
	c.Work = Endpoints{LoginURL: "https://w.login", AuthzURL: "https://w.authz", ChatServiceURL: "https://w.chat", AMSURL: "https://w.ams", TrouterURL: "https://w.trouter", RegistrarURL: "https://w.reg"}
	c.Consumer = Endpoints{LoginURL: "https://c.login", AuthzURL: "https://c.authz", ChatServiceURL: "https://c.chat", AMSURL: "https://c.ams", MiddleTierURL: "https://c.mt", TrouterURL: "https://c.trouter", RegistrarURL: "https://c.reg"}
	w := c.apiConfig(teamsapi.Work)
	if w.Tenant != "contoso.onmicrosoft.com" || w.LoginURL != "https://w.login" || w.AuthzURL != "https://w.authz" || w.ChatServiceURL != "https://w.chat" ||
		w.AMSURL != "https://w.ams" || w.TrouterURL != "https://w.trouter" || w.RegistrarURL != "https://w.reg" {
		t.Errorf("work config %+v", w)
	}
	f := c.apiConfig(teamsapi.Consumer)
	if f.Tenant != "" || f.LoginURL != "https://c.login" || f.AuthzURL != "https://c.authz" || f.ChatServiceURL != "https://c.chat" ||
		f.AMSURL != "https://c.ams" || f.MiddleTierURL != "https://c.mt" || f.TrouterURL != "https://c.trouter" || f.RegistrarURL != "https://c.reg" {
		t.Errorf("consumer config %+v", f)
	}
}

func TestClaimsOnlyTeamsOwnIdentifiers(t *testing.T) {
	c := New()
	for id, want := range map[string]bool{
		"8:orgid:4f81854f-8168-d565-f80b-3048978a3001": true,
		"19:abc_def@unq.gbl.spaces":                    true,
		"19:1234@thread.tacv2":                         true,
		"8:live:.cid.0123abcd":                         false, // Skype's too
		"19:abcd@thread.skype":                         false,
		"alice@contoso.com":                            false,
	} {
		if got := c.ClaimsIdentifier(id); got != want {
			t.Errorf("ClaimsIdentifier(%q) = %t, want %t", id, got, want)
		}
	}
}
