// Package skypeapi is a client for the consumer Skype web API of skpy's era
// (login, registration token, event long poll, contacts, files). Messaging
// calls go through the shared chat-service client (connectors/chatsvc); this
// package adds what Skype does differently around it. It has no bridge
// dependency.
//
// Use: Auth.Login (or LoginToken / Refresh) gives a Session; NewClient with
// an Options.Renew that signs in again from the stored credential keeps it
// alive past the skypetoken's 24 h. Client.Listen delivers events (each
// once per run, acked after the handler returns nil) and calls
// Handler.HandleGap whenever events may have been missed; the handler, and
// the bridge at start-up, run CatchUp from the newest bridged arrival time
// and de-duplicate by message id. Sends carry a clientmessageid that the
// echo repeats.
package skypeapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/retryafter"
)

// Default service roots.
const (
	DefaultLoginLiveURL  = "https://login.live.com"
	DefaultEdgeURL       = "https://edge.skype.com"
	DefaultLoginSkypeURL = "https://login.skype.com"
	DefaultAPIURL        = "https://api.skype.com"
	DefaultContactsURL   = "https://contacts.skype.com"
	DefaultProfileURL    = "https://profile.skype.com"
	DefaultMsgsHost      = "https://client-s.gateway.messenger.live.com"
	DefaultASMURL        = "https://api.asm.skype.com"
	// DefaultClientInfo is the ClientInfo header of the Skype web client.
	DefaultClientInfo = "os=Windows; osVer=10; proc=x86; lcid=en-US; deviceType=1; country=US; clientName=skype4life; clientVer=1418/9.99.0.999//skype4life"
)

// Config names every host the client talks to. Tokens and the password are
// only ever sent to these hosts, to regional siblings of the messaging and
// ASM hosts (db3-client-s... for client-s..., weu1-api... for api...), and to
// hosts listed in ExtraMsgsHosts.
type Config struct {
	LoginLiveURL  string // SOAP RST.srf and the Live web login
	EdgeURL       string // rps/v1/rps/skypetoken
	LoginSkypeURL string // oauth/microsoft, login/microsoft, refresh
	APIURL        string // users/self/profile
	ContactsURL   string // contacts/v2
	ProfileURL    string // profile/v1/batch/profiles
	MsgsHost      string // the messaging host to register on first
	ASMURL        string // file storage
	// ExtraMsgsHosts are further host names a registration may redirect to.
	ExtraMsgsHosts []string
	// AllowInsecureHTTP permits http:// roots (tests, the demo).
	AllowInsecureHTTP bool
	// HTTPClient is used for every call but the long poll; default 60 s timeout.
	HTTPClient *http.Client
	// PollHTTPClient is used for the long poll (the service holds it ~30 s);
	// default 90 s timeout.
	PollHTTPClient *http.Client
	ClientInfo     string
	Retry          chatsvc.RetryPolicy
	Log            zerolog.Logger
	Now            func() time.Time
	Sleep          func(ctx context.Context, d time.Duration) error
}

func (c *Config) setDefaults() error {
	defaults := []struct {
		field *string
		def   string
		name  string
	}{
		{&c.LoginLiveURL, DefaultLoginLiveURL, "login_live_url"},
		{&c.EdgeURL, DefaultEdgeURL, "edge_url"},
		{&c.LoginSkypeURL, DefaultLoginSkypeURL, "login_skype_url"},
		{&c.APIURL, DefaultAPIURL, "api_url"},
		{&c.ContactsURL, DefaultContactsURL, "contacts_url"},
		{&c.ProfileURL, DefaultProfileURL, "profile_url"},
		{&c.MsgsHost, DefaultMsgsHost, "msgs_host"},
		{&c.ASMURL, DefaultASMURL, "asm_url"},
	}
	for _, d := range defaults {
		if *d.field == "" {
			*d.field = d.def
		}
		*d.field = strings.TrimRight(*d.field, "/")
		if err := c.checkURL(*d.field); err != nil {
			return fmt.Errorf("skype config %s: %w", d.name, err)
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if c.PollHTTPClient == nil {
		c.PollHTTPClient = &http.Client{Timeout: 90 * time.Second, Transport: c.HTTPClient.Transport}
	}
	if c.ClientInfo == "" {
		c.ClientInfo = DefaultClientInfo
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = retryafter.Sleep
	}
	return nil
}

func (c *Config) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("invalid URL %q", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if c.AllowInsecureHTTP {
			return nil
		}
		return fmt.Errorf("refusing plain http URL %q (insecure HTTP not enabled)", raw)
	}
	return fmt.Errorf("unsupported scheme in %q", raw)
}

// regionalSibling reports whether host is configured itself or a regional
// variant of it: same parent domain and a first label that is the
// configured one with a "<region>-" prefix (db3-client-s for client-s,
// weu1-api for api). Ports must match when the configured URL has one.
func regionalSibling(host, configured string) bool {
	host, configured = strings.ToLower(host), strings.ToLower(configured)
	if host == configured {
		return true
	}
	hName, hPort := splitHostPort(host)
	cName, cPort := splitHostPort(configured)
	if hPort != cPort && cPort != "" {
		// Test servers differ only in port; a regional host never does.
		return hName == cName && isLoopback(hName)
	}
	if hName == cName {
		return true
	}
	hLabel, hParent, ok1 := strings.Cut(hName, ".")
	cLabel, cParent, ok2 := strings.Cut(cName, ".")
	return ok1 && ok2 && hParent == cParent && strings.Contains(cParent, ".") && strings.HasSuffix(hLabel, "-"+cLabel)
}

func splitHostPort(h string) (name, port string) {
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}

func isLoopback(name string) bool {
	return name == "127.0.0.1" || name == "localhost" || name == "[::1]"
}
