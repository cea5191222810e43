// Package teamsapi is a Microsoft Teams client library for work/school and
// Teams free (consumer) accounts: the AAD sign-in chain up to the skypetoken,
// the chat service (through connectors/chatsvc), AMS files and the Trouter
// push channel. It has no bridge dependency.
package teamsapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Deployment selects work/school Teams or Teams free.
type Deployment string

// Deployments.
const (
	Work     Deployment = "work"
	Consumer Deployment = "consumer"
)

// First-party public client ids (reference §1.1).
const (
	TeamsNativeClientID   = "1fec8e78-bce4-4aaf-ab1b-5451cc387264" // Teams desktop/mobile, work
	TeamsPersonalClientID = "8ec6bc83-69c8-4392-8f08-b3c986009232" // older personal client, device code on common/consumers
)

// Scopes for the skypetoken audience.
const (
	WorkSpacesScope  = "https://api.spaces.skype.com/.default"
	ConsumerMBIScope = "service::api.fl.spaces.skype.com::MBI_SSL"
	offlineScopes    = "openid profile offline_access"
)

// Config holds every endpoint and knob; zero values take the production
// defaults for the deployment. Every URL can be overridden (tests, the demo,
// sovereign clouds).
type Config struct {
	Deployment Deployment
	// Tenant: a tenant GUID or "organizations"/"common" (work); "consumers"
	// (default for Teams free).
	Tenant   string
	ClientID string // default TeamsNativeClientID (work) or TeamsPersonalClientID (consumer)
	// LoginURL is the AAD authority root (default https://login.microsoftonline.com).
	LoginURL string
	// Origin is sent on token calls (needed by SPA client ids).
	Origin string
	// AuthzURL is the skypetoken endpoint (default per deployment).
	AuthzURL string
	// ChatServiceURL overrides regionGtms.chatService (and is the consumer
	// fallback when the authz answer carries no regionGtms).
	ChatServiceURL string
	// AMSURL overrides regionGtms.ams.
	AMSURL string
	// MiddleTierURL overrides regionGtms.middleTier (profiles).
	MiddleTierURL string
	TrouterURL    string // default go.trouter.teams.microsoft.com / go.trouter.skype.com
	RegistrarURL  string // default per deployment
	// Registrations are the messaging worker's registrar registrations,
	// posted in order on every connection (their template keys drift, and
	// deployments disagree on them: teams-web §3.5 and §9). Empty takes
	// DefaultRegistrations.
	Registrations []Registration
	// AllowInsecureHTTP permits http:// endpoints (tests, the demo).
	AllowInsecureHTTP bool
	HTTPClient        *http.Client
	Log               zerolog.Logger
	// RefreshSkew: tokens are renewed this long before expiry (default 60s).
	RefreshSkew time.Duration
	Now         func() time.Time

	guarded bool // HTTPClient already strips credentials on redirects
}

func (c *Config) fill() error {
	if c.Deployment == "" {
		c.Deployment = Work
	}
	if c.Deployment != Work && c.Deployment != Consumer {
		return fmt.Errorf("teamsapi: unknown deployment %q", c.Deployment)
	}
	consumer := c.Deployment == Consumer
	def := func(p *string, work, cons string) {
		if *p == "" {
			if consumer {
				*p = cons
			} else {
				*p = work
			}
		}
	}
	def(&c.Tenant, "organizations", "consumers")
	def(&c.ClientID, TeamsNativeClientID, TeamsPersonalClientID)
	def(&c.LoginURL, "https://login.microsoftonline.com", "https://login.microsoftonline.com")
	def(&c.AuthzURL, "https://teams.microsoft.com/api/authsvc/v1.0/authz", "https://teams.live.com/api/auth/v1.0/authz/consumer")
	def(&c.ChatServiceURL, "", "https://msgapi.teams.live.com")
	def(&c.TrouterURL, "https://go.trouter.teams.microsoft.com", "https://go.trouter.skype.com")
	def(&c.RegistrarURL, "https://teams.microsoft.com/registrar/prod/V2/registrations", "https://edge.skype.com/registrar/prod/v2/registrations")
	if len(c.Registrations) == 0 {
		c.Registrations = DefaultRegistrations(c.Deployment)
	}
	for i, r := range c.Registrations {
		if strings.TrimSpace(r.TemplateKey) == "" {
			return fmt.Errorf("teamsapi: trouter registration %d has no template key", i+1)
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if !c.guarded {
		// A redirect (an AMS view to blob storage, say) may be followed,
		// but the skypetoken headers stay with the host they were meant
		// for (Go strips Authorization only when the host name differs, not
		// for another port, and never the skypetoken headers).
		c.HTTPClient = chatsvc.GuardRedirects(c.HTTPClient, false, "Authorization", "X-Skypetoken", chatsvc.TeamsAuthHeader, chatsvc.SkypeAuthHeader)
		c.guarded = true
	}
	if c.RefreshSkew <= 0 {
		c.RefreshSkew = 60 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	for name, u := range map[string]string{"login": c.LoginURL, "authz": c.AuthzURL, "chat service": c.ChatServiceURL,
		"AMS": c.AMSURL, "middle tier": c.MiddleTierURL, "trouter": c.TrouterURL, "registrar": c.RegistrarURL} {
		if u == "" {
			continue
		}
		if err := c.checkURL(u); err != nil {
			return fmt.Errorf("teamsapi: %s URL: %w", name, err)
		}
	}
	return nil
}

// ErrInsecureURL is returned for http:// endpoints without AllowInsecureHTTP.
var ErrInsecureURL = errors.New("plain http URL refused (insecure HTTP not enabled)")

func (c *Config) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("invalid URL %q", raw)
	}
	switch u.Scheme {
	case "https", "wss":
		return nil
	case "http", "ws":
		if c.AllowInsecureHTTP {
			return nil
		}
		return fmt.Errorf("%q: %w", raw, ErrInsecureURL)
	}
	return fmt.Errorf("unsupported scheme in %q", raw)
}

// skypeScope is the scope whose access token mints the skypetoken and
// authenticates Trouter and the registrar.
func (c *Config) skypeScope() string {
	if c.Deployment == Consumer {
		return ConsumerMBIScope + " " + offlineScopes
	}
	return WorkSpacesScope + " " + offlineScopes
}

func (c *Config) tokenURL(tenant string) string {
	return strings.TrimRight(c.LoginURL, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

func (c *Config) deviceURL(tenant string) string {
	return strings.TrimRight(c.LoginURL, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/devicecode"
}

// RegistrationAppID is the registrar appId of the messaging worker, the
// registration that makes Trouter deliver chat messages.
const RegistrationAppID = "TeamsCDLWebWorker"

// Registration is one registrar registration of the messaging worker.
type Registration struct {
	TemplateKey string // e.g. "TeamsCDLWebWorker_2.1"
	// ProductContext is sent as clientDescription.productContext when set
	// (consumer templates carry "TFL" or ""); nil leaves the field out.
	ProductContext *string
}

// DefaultRegistrations are the registrations a deployment makes when none
// are configured: the work template, or the consumer pair ("_2.6" for
// Teams free, "_2.3" without a product context).
func DefaultRegistrations(d Deployment) []Registration {
	if d == Consumer {
		tfl, none := "TFL", ""
		return []Registration{{TemplateKey: "TeamsCDLWebWorker_2.6", ProductContext: &tfl}, {TemplateKey: "TeamsCDLWebWorker_2.3", ProductContext: &none}}
	}
	return []Registration{{TemplateKey: "TeamsCDLWebWorker_2.1"}}
}
