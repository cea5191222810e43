package teams

import (
	_ "embed"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	up "go.mau.fi/util/configupgrade"

	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/netguard"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

// minReadReceiptPoll is the shortest read_receipt_poll accepted.
const minReadReceiptPoll = time.Second

//go:embed example-config.yaml
var exampleConfig string

// Endpoints are one deployment's overridable service URLs; empty fields take
// teamsapi's production defaults.
type Endpoints struct {
	LoginURL       string `yaml:"login_url"`
	AuthzURL       string `yaml:"authz_url"`
	ChatServiceURL string `yaml:"chat_service_url"`
	AMSURL         string `yaml:"ams_url"`
	MiddleTierURL  string `yaml:"middle_tier_url"`
	TrouterURL     string `yaml:"trouter_url"`
	RegistrarURL   string `yaml:"registrar_url"`
	// TrouterRegistrations are the registrar registrations of the message
	// worker, in order; empty takes teamsapi.DefaultRegistrations.
	TrouterRegistrations []TrouterRegistration `yaml:"trouter_registrations"`
}

// TrouterRegistration is one registrar registration (teams-web §3.5): its
// template key and, when set, its product context ("" is sent as an empty
// product context; leaving the key out sends none).
type TrouterRegistration struct {
	TemplateKey    string  `yaml:"template_key"`
	ProductContext *string `yaml:"product_context"`
}

func (e Endpoints) registrations() []teamsapi.Registration {
	var out []teamsapi.Registration
	for _, r := range e.TrouterRegistrations {
		out = append(out, teamsapi.Registration{TemplateKey: r.TemplateKey, ProductContext: r.ProductContext})
	}
	return out
}

func (e Endpoints) all() map[string]string {
	return map[string]string{"login_url": e.LoginURL, "authz_url": e.AuthzURL, "chat_service_url": e.ChatServiceURL,
		"ams_url": e.AMSURL, "middle_tier_url": e.MiddleTierURL, "trouter_url": e.TrouterURL, "registrar_url": e.RegistrarURL}
}

// Config is the network.teams section.
type Config struct {
	Tenant            string    `yaml:"tenant"`
	Work              Endpoints `yaml:"work"`
	Consumer          Endpoints `yaml:"consumer"`
	AllowInsecureHTTP bool      `yaml:"allow_insecure_http"`
	CredentialKey     string    `yaml:"credential_key"`
	InitialChats      int       `yaml:"initial_chats"`
	InitialMessages   int       `yaml:"initial_messages"`
	// ReadReceiptPoll is how often the other members' read positions of
	// recently active chats are read: Teams pushes a read position only to
	// its reader.
	ReadReceiptPoll time.Duration `yaml:"read_receipt_poll"`
}

func upgradeConfig(helper up.Helper) {
	helper.Copy(up.Str, "tenant")
	for _, d := range []string{"work", "consumer"} {
		for _, k := range []string{"login_url", "authz_url", "chat_service_url", "ams_url", "middle_tier_url", "trouter_url", "registrar_url"} {
			helper.Copy(up.Str, d, k)
		}
		helper.Copy(up.List, d, "trouter_registrations")
	}
	helper.Copy(up.Bool, "allow_insecure_http")
	bridgekit.UpgradeCredentialKey(helper)
	helper.Copy(up.Int, "initial_chats")
	helper.Copy(up.Int, "initial_messages")
	helper.Copy(up.Str|up.Int, "read_receipt_poll")
}

func (c *Config) validate() error {
	for name, eps := range map[string]Endpoints{"work": c.Work, "consumer": c.Consumer} {
		for key, raw := range eps.all() {
			if raw == "" {
				continue
			}
			if err := checkEndpoint(raw, c.AllowInsecureHTTP); err != nil {
				return fmt.Errorf("%s.%s: %w", name, key, err)
			}
		}
	}
	for name, eps := range map[string]Endpoints{"work": c.Work, "consumer": c.Consumer} {
		for i, r := range eps.TrouterRegistrations {
			if strings.TrimSpace(r.TemplateKey) == "" {
				return fmt.Errorf("%s.trouter_registrations[%d]: template_key is empty", name, i)
			}
		}
	}
	if err := bridgekit.CheckCredentialKey(c.CredentialKey); err != nil {
		return err
	}
	if c.InitialChats < 0 || c.InitialMessages < 0 {
		return fmt.Errorf("initial_chats and initial_messages must not be negative")
	}
	if c.ReadReceiptPoll < minReadReceiptPoll {
		// Each poll is one request per watched chat; faster would hammer
		// the chat service.
		return fmt.Errorf("read_receipt_poll: %s is shorter than %s", c.ReadReceiptPoll, minReadReceiptPoll)
	}
	return nil
}

// checkEndpoint refuses plain http and private or loopback addresses unless
// the insecure switch is on: either would let tokens reach a host that is not
// Microsoft's over an unprotected path.
func checkEndpoint(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https", "wss":
	case "http", "ws":
		if !insecure {
			return fmt.Errorf("%q must use https (or set allow_insecure_http: true for a test server)", raw)
		}
	default:
		return fmt.Errorf("%q: unsupported scheme %q", raw, u.Scheme)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && !insecure && netguard.IsPrivateIP(ip) {
		return fmt.Errorf("%q is a private address (set allow_insecure_http: true for a test server)", raw)
	}
	if u.Hostname() == "localhost" && !insecure {
		return fmt.Errorf("%q is a local address (set allow_insecure_http: true for a test server)", raw)
	}
	return nil
}

// apiConfig is the client library's config for one deployment.
func (c *Config) apiConfig(d teamsapi.Deployment) teamsapi.Config {
	eps := c.Work
	cfg := teamsapi.Config{Deployment: d, AllowInsecureHTTP: c.AllowInsecureHTTP}
	if d == teamsapi.Consumer {
		eps = c.Consumer
	} else {
		cfg.Tenant = c.Tenant
	}
	cfg.LoginURL, cfg.AuthzURL, cfg.ChatServiceURL = eps.LoginURL, eps.AuthzURL, eps.ChatServiceURL
	cfg.AMSURL, cfg.MiddleTierURL = eps.AMSURL, eps.MiddleTierURL
	cfg.TrouterURL, cfg.RegistrarURL = eps.TrouterURL, eps.RegistrarURL
	cfg.Registrations = eps.registrations()
	return cfg
}
