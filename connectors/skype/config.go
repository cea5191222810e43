package skype

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	up "go.mau.fi/util/configupgrade"

	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/chatsvc"
	"github.com/imbridge/imbridge/connectors/netguard"
	"github.com/imbridge/imbridge/connectors/retryafter"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

//go:embed example-config.yaml
var exampleConfig string

// Config is the network.skype section.
type Config struct {
	LoginLiveURL   string   `yaml:"login_live_url"`
	EdgeURL        string   `yaml:"edge_url"`
	LoginSkypeURL  string   `yaml:"login_skype_url"`
	APIURL         string   `yaml:"api_url"`
	ContactsURL    string   `yaml:"contacts_url"`
	ProfileURL     string   `yaml:"profile_url"`
	MsgsHost       string   `yaml:"msgs_host"`
	ASMURL         string   `yaml:"asm_url"`
	ExtraMsgsHosts []string `yaml:"extra_msgs_hosts"`

	AllowInsecureHTTP     bool   `yaml:"allow_insecure_http"`
	AllowPrivateAddresses bool   `yaml:"allow_private_addresses"`
	CredentialKey         string `yaml:"credential_key"`

	// ReadReceiptPoll is how often the other members' read positions of
	// recently active groups are read: Skype pushes a read position only
	// to its reader.
	ReadReceiptPoll time.Duration `yaml:"read_receipt_poll"`
}

// minReadReceiptPoll is the shortest read_receipt_poll accepted: each poll
// is a request per watched group, and faster would hammer the service.
const minReadReceiptPoll = time.Second

var hostKeys = []string{"login_live_url", "edge_url", "login_skype_url", "api_url", "contacts_url", "profile_url", "msgs_host", "asm_url"}

func upgradeConfig(helper up.Helper) {
	for _, k := range hostKeys {
		helper.Copy(up.Str, k)
	}
	helper.Copy(up.List, "extra_msgs_hosts")
	helper.Copy(up.Bool, "allow_insecure_http")
	helper.Copy(up.Bool, "allow_private_addresses")
	helper.Copy(up.Str|up.Int, "read_receipt_poll")
	bridgekit.UpgradeCredentialKey(helper)
}

func (c *Config) hosts() map[string]*string {
	return map[string]*string{
		"login_live_url": &c.LoginLiveURL, "edge_url": &c.EdgeURL, "login_skype_url": &c.LoginSkypeURL, "api_url": &c.APIURL,
		"contacts_url": &c.ContactsURL, "profile_url": &c.ProfileURL, "msgs_host": &c.MsgsHost, "asm_url": &c.ASMURL,
	}
}

func (c *Config) validate() error {
	for name, v := range c.hosts() {
		if *v == "" {
			continue // the client's default
		}
		u, err := url.Parse(*v)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%s: %q is not an absolute URL", name, *v)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && c.AllowInsecureHTTP) {
			return fmt.Errorf("%s: %q must use https (or set allow_insecure_http: true for a test server)", name, *v)
		}
	}
	if c.ReadReceiptPoll < minReadReceiptPoll {
		return fmt.Errorf("read_receipt_poll: %s is shorter than %s", c.ReadReceiptPoll, minReadReceiptPoll)
	}
	return bridgekit.CheckCredentialKey(c.CredentialKey)
}

// errPrivateAddress is what a connection to a refused address fails with.
var errPrivateAddress = errors.New("refusing to connect to a private or local network address (an admin can allow it with network.skype.allow_private_addresses)")

// refusePrivate is the dialer Control hook that refuses the addresses
// package netguard lists, checked on the resolved address so that a host
// name pointing inside the network is caught too.
var refusePrivate = netguard.Control(errPrivateAddress)

// apiConfig builds the client configuration; hc (tests) replaces the
// default transport.
func (c *Connector) apiConfig() skypeapi.Config {
	hc, poll := c.HTTPClient, c.PollHTTPClient
	if hc == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		if !c.Config.AllowPrivateAddresses {
			d.Control = refusePrivate
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = d.DialContext
		hc = &http.Client{Timeout: 60 * time.Second, Transport: tr}
		poll = &http.Client{Timeout: 90 * time.Second, Transport: tr}
	}
	cfg := skypeapi.Config{
		LoginLiveURL: c.Config.LoginLiveURL, EdgeURL: c.Config.EdgeURL, LoginSkypeURL: c.Config.LoginSkypeURL,
		APIURL: c.Config.APIURL, ContactsURL: c.Config.ContactsURL, ProfileURL: c.Config.ProfileURL,
		MsgsHost: c.Config.MsgsHost, ASMURL: c.Config.ASMURL, ExtraMsgsHosts: c.Config.ExtraMsgsHosts,
		AllowInsecureHTTP: c.Config.AllowInsecureHTTP, HTTPClient: hc, PollHTTPClient: poll,
		Log: c.Env.Log.With().Str("protocol", "skype").Logger(),
	}
	if c.RetryBackoffMin > 0 {
		cfg.Retry = chatsvc.RetryPolicy{BaseDelay: c.RetryBackoffMin, MaxDelay: 4 * c.RetryBackoffMin}
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			return retryafter.Sleep(ctx, min(d, 4*c.RetryBackoffMin))
		}
	}
	return cfg
}
