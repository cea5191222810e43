package teams

import (
	"strings"
	"testing"
	"time"

	up "go.mau.fi/util/configupgrade"
	"gopkg.in/yaml.v3"

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

func TestConfigReadReceiptPoll(t *testing.T) {
	// The example config's value is what New() starts with, and what a
	// config without the key gets.
	var example Config
	if err := yaml.Unmarshal([]byte(exampleConfig), &example); err != nil {
		t.Fatalf("example config: %v", err)
	}
	if example.ReadReceiptPoll != 20*time.Second || New().Config.ReadReceiptPoll != example.ReadReceiptPoll {
		t.Errorf("read_receipt_poll: example %s, New() %s, want both 20s", example.ReadReceiptPoll, New().Config.ReadReceiptPoll)
	}
	for _, tc := range []struct {
		yaml    string
		want    time.Duration
		wantErr string
	}{
		{"read_receipt_poll: 1s", time.Second, ""},
		{"read_receipt_poll: 2m", 2 * time.Minute, ""},
		{"read_receipt_poll: 500ms", 500 * time.Millisecond, "read_receipt_poll"},
		{"read_receipt_poll: 0s", 0, "read_receipt_poll"},
		{"read_receipt_poll: -5s", -5 * time.Second, "read_receipt_poll"},
	} {
		c := New()
		if err := yaml.Unmarshal([]byte(tc.yaml), &c.Config); err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		c.Config.CredentialKey = "test-key"
		if c.Config.ReadReceiptPoll != tc.want {
			t.Errorf("%s decoded as %s, want %s", tc.yaml, c.Config.ReadReceiptPoll, tc.want)
		}
		err := c.Config.validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.yaml, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one about %q", tc.yaml, err, tc.wantErr)
		case err == nil && c.horizonPoll() != tc.want:
			t.Errorf("%s: the poll runs every %s", tc.yaml, c.horizonPoll())
		}
	}
	// A string that is no duration is refused when the config is read.
	var c Config
	if err := yaml.Unmarshal([]byte("read_receipt_poll: soon"), &c); err == nil {
		t.Error(`read_receipt_poll: "soon" was accepted`)
	}
}

// trouter_registrations reach the client as written: a product_context of
// "" is an empty product context, a missing one none at all; empty lists
// keep the library's defaults; a registration without a template key is
// refused.
func TestConfigTrouterRegistrations(t *testing.T) {
	var example Config
	if err := yaml.Unmarshal([]byte(exampleConfig), &example); err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(example.Work.TrouterRegistrations) != 0 || len(example.Consumer.TrouterRegistrations) != 0 {
		t.Fatalf("the example config sets registrations: %+v %+v", example.Work.TrouterRegistrations, example.Consumer.TrouterRegistrations)
	}
	c := New()
	c.Config.CredentialKey = "test-key"
	err := yaml.Unmarshal([]byte(`consumer:
  trouter_registrations:
    - {template_key: TeamsCDLWebWorker_2.3, product_context: ""}
    - {template_key: TeamsCDLWebWorker_2.3, product_context: TFL}
    - {template_key: TFLSkypeSpacesWeb_2.0}
`), &c.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Config.validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.Config.apiConfig(teamsapi.Consumer).Registrations {
		pc := "-"
		if r.ProductContext != nil {
			pc = *r.ProductContext
		}
		got = append(got, r.TemplateKey+"="+pc)
	}
	if strings.Join(got, ",") != "TeamsCDLWebWorker_2.3=,TeamsCDLWebWorker_2.3=TFL,TFLSkypeSpacesWeb_2.0=-" {
		t.Errorf("consumer registrations %v", got)
	}
	if w := c.Config.apiConfig(teamsapi.Work).Registrations; len(w) != 0 {
		t.Errorf("work registrations %v, want the library defaults (none set)", w)
	}
	c.Config.Work.TrouterRegistrations = []TrouterRegistration{{TemplateKey: ""}}
	if err := c.Config.validate(); err == nil || !strings.Contains(err.Error(), "trouter_registrations") {
		t.Errorf("a registration without a template key: %v", err)
	}
}

// A configured trouter_registrations list survives the config upgrade
// (bridgev2 rewrites the config from the example on every start).
func TestConfigUpgradeKeepsTrouterRegistrations(t *testing.T) {
	var base, cfg yaml.Node
	if err := yaml.Unmarshal([]byte(exampleConfig), &base); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte("credential_key: k\nconsumer:\n  trouter_registrations:\n    - {template_key: TeamsCDLWebWorker_2.3, product_context: \"\"}\n    - {template_key: TeamsCDLWebWorker_2.3, product_context: TFL}\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	upgradeConfig(up.NewHelper(&base, &cfg))
	out, err := yaml.Marshal(&base)
	if err != nil {
		t.Fatal(err)
	}
	var got Config
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	r := got.Consumer.TrouterRegistrations
	if len(r) != 2 || r[0].ProductContext == nil || *r[0].ProductContext != "" || r[1].ProductContext == nil || *r[1].ProductContext != "TFL" || len(got.Work.TrouterRegistrations) != 0 {
		t.Fatalf("upgraded registrations: %+v / work %+v\n%s", r, got.Work.TrouterRegistrations, out)
	}
}
