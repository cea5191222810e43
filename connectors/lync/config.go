package lync

import (
	_ "embed"
	"fmt"
	"net/url"
	"time"

	up "go.mau.fi/util/configupgrade"

	"github.com/imbridge/imbridge/connectors/bridgekit"
)

//go:embed example-config.yaml
var exampleConfig string

// Config is the network.lync section.
type Config struct {
	DiscoveryURL      string `yaml:"discovery_url"`
	AllowInsecureHTTP bool   `yaml:"allow_insecure_http"`
	// AllowPrivateAddresses lets the bridge connect to loopback, link-local
	// and private addresses (test and lab servers).
	AllowPrivateAddresses bool          `yaml:"allow_private_addresses"`
	CredentialKey         string        `yaml:"credential_key"`
	UserAgent             string        `yaml:"user_agent"`
	Culture               string        `yaml:"culture"`
	ActivityInterval      time.Duration `yaml:"activity_interval"`
	EventTimeout          int           `yaml:"event_timeout"`
}

func upgradeConfig(helper up.Helper) {
	helper.Copy(up.Str, "discovery_url")
	helper.Copy(up.Bool, "allow_insecure_http")
	helper.Copy(up.Bool, "allow_private_addresses")
	bridgekit.UpgradeCredentialKey(helper)
	helper.Copy(up.Str, "user_agent")
	helper.Copy(up.Str, "culture")
	helper.Copy(up.Str|up.Int, "activity_interval")
	helper.Copy(up.Int, "event_timeout")
}

func (c *Config) validate() error {
	if c.DiscoveryURL != "" {
		u, err := url.Parse(c.DiscoveryURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("discovery_url: %q is not an absolute URL", c.DiscoveryURL)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && c.AllowInsecureHTTP) {
			return fmt.Errorf("discovery_url: %q must use https (or set allow_insecure_http: true for a test server)", c.DiscoveryURL)
		}
	}
	if err := bridgekit.CheckCredentialKey(c.CredentialKey); err != nil {
		return err
	}
	if c.ActivityInterval <= 0 || c.ActivityInterval > 4*time.Minute {
		return fmt.Errorf("activity_interval: %s is outside (0, 4m]; the server idles users after 5 minutes", c.ActivityInterval)
	}
	if c.EventTimeout < 180 || c.EventTimeout > 1800 {
		return fmt.Errorf("event_timeout: %d is outside the server's 180..1800 seconds", c.EventTimeout)
	}
	if c.UserAgent == "" || len(c.UserAgent) > 100 || c.Culture == "" || len(c.Culture) > 100 {
		return fmt.Errorf("user_agent and culture: must be 1 to 100 characters")
	}
	return nil
}
