package lync

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		c := New().Config
		c.CredentialKey = "k"
		return c
	}
	if c := good(); c.validate() != nil {
		t.Fatalf("defaults with a key rejected: %v", c.validate())
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"http discovery without the switch", func(c *Config) { c.DiscoveryURL = "http://lync.corp.example/" }, "must use https"},
		{"relative discovery URL", func(c *Config) { c.DiscoveryURL = "lync.corp.example" }, "not an absolute URL"},
		{"key never generated", func(c *Config) { c.CredentialKey = "generate" }, "credential_key"},
		{"activity interval too long", func(c *Config) { c.ActivityInterval = 10 * time.Minute }, "activity_interval"},
		{"event timeout below the server minimum", func(c *Config) { c.EventTimeout = 60 }, "event_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate() = %v, want an error about %q", err, tc.want)
			}
		})
	}
	c := good()
	c.DiscoveryURL, c.AllowInsecureHTTP = "http://127.0.0.1:8080/", true
	if err := c.validate(); err != nil {
		t.Fatalf("http with allow_insecure_http rejected: %v", err)
	}
}
