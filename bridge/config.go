package bridge

import (
	"fmt"
	"sort"
	"strings"
	"time"

	up "go.mau.fi/util/configupgrade"
	"gopkg.in/yaml.v3"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

// Config is the `network:` section: bridge-wide settings plus one section per
// protocol, each with an `enabled` switch owned by the multiplexer and the rest
// decoded into the protocol's own config type.
type Config struct {
	// HomeserverWait bounds how long startup waits for the homeserver before
	// failing with an error; 0 waits forever (bridgev2's own behaviour).
	HomeserverWait time.Duration `yaml:"homeserver_wait"`
	Metrics        MetricsConfig `yaml:"metrics"`

	enabled map[ids.Protocol]bool
	// unknown lists top-level keys of the user's section that name no setting or
	// protocol; the upgrader would silently drop them, so they are an error.
	unknown []string

	protocols map[ids.Protocol]protocol.Protocol
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	Enabled bool   `yaml:"enabled"`
	Listen  string `yaml:"listen"`
}

// Enabled reports whether a protocol's section says enabled: true.
func (c *Config) Enabled(p ids.Protocol) bool { return c.enabled[p] }

type rawConfig struct {
	HomeserverWait string        `yaml:"homeserver_wait"`
	Metrics        MetricsConfig `yaml:"metrics"`
}

type enabledOnly struct {
	Enabled bool `yaml:"enabled"`
}

func (c *Config) UnmarshalYAML(node *yaml.Node) error {
	var raw rawConfig
	if err := node.Decode(&raw); err != nil {
		return err
	}
	c.Metrics = raw.Metrics
	c.HomeserverWait = 0
	if raw.HomeserverWait != "" {
		d, err := time.ParseDuration(raw.HomeserverWait)
		if err != nil || d < 0 {
			return fmt.Errorf("network.homeserver_wait: %q is not a duration such as 2m or 30s", raw.HomeserverWait)
		}
		c.HomeserverWait = d
	}
	c.enabled = map[ids.Protocol]bool{}
	if node.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i].Value, node.Content[i+1]
		p := ids.Protocol(key)
		if !ids.IsKnown(p) {
			continue
		}
		var en enabledOnly
		if err := value.Decode(&en); err != nil {
			return fmt.Errorf("network.%s: %w", key, err)
		}
		c.enabled[p] = en.Enabled
		if proto := c.protocols[p]; proto != nil {
			if err := value.Decode(proto.ConfigData()); err != nil {
				return fmt.Errorf("network.%s: %w", key, err)
			}
		}
	}
	return nil
}

// validate reports the first problem of the decoded config, naming its key.
func (c *Config) validate() error {
	if len(c.unknown) > 0 {
		known := []string{"homeserver_wait", "metrics"}
		for _, p := range ids.Known {
			known = append(known, string(p))
		}
		return fmt.Errorf("network.%s: unknown section (known: %s)", c.unknown[0], strings.Join(known, ", "))
	}
	if c.Metrics.Enabled && c.Metrics.Listen == "" {
		return fmt.Errorf("network.metrics.listen: must be set when metrics are enabled")
	}
	for _, p := range ids.Known {
		if !c.enabled[p] {
			continue
		}
		proto := c.protocols[p]
		if proto == nil {
			return fmt.Errorf("network.%s.enabled: this build of imbridge has no %s connector yet; set it to false", p, p)
		}
		if err := proto.ValidateConfig(); err != nil {
			return fmt.Errorf("network.%s: %w", p, err)
		}
	}
	return nil
}

// exampleConfig builds the `network:` section of the example config.
func (c *Config) exampleConfig() string {
	var b strings.Builder
	b.WriteString(`# How long startup waits for the homeserver to answer before it stops with an
# error (a Go duration such as 2m or 30s). 0 waits forever.
homeserver_wait: 2m
# Prometheus metrics of the whole bridge, served on http://<listen>/metrics:
# logins by protocol and state, messages bridged, bridging latency, remote API errors.
metrics:
    enabled: true
    listen: 127.0.0.1:8001
`)
	for _, p := range ids.Known {
		proto := c.protocols[p]
		if proto == nil {
			fmt.Fprintf(&b, "# %s: not available in this build yet.\n%s:\n    enabled: false\n", p, p)
			continue
		}
		info := proto.Info()
		fmt.Fprintf(&b, "# %s.\n%s:\n    # Offer the %s login flows and connect existing %s logins.\n    enabled: true\n",
			info.DisplayName, p, p, info.DisplayName)
		for _, line := range strings.Split(strings.TrimRight(proto.ExampleConfig(), "\n"), "\n") {
			if line == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("    ")
			b.WriteString(line)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// configUpgrader copies the user's values into the current example layout and
// records keys it does not know.
type configUpgrader struct {
	c *Config
}

func (u *configUpgrader) DoUpgrade(helper up.Helper) {
	u.c.unknown = nil
	if node := helper.GetNode(); node != nil && node.Map != nil {
		for key := range node.Map {
			if key != "homeserver_wait" && key != "metrics" && !ids.IsKnown(ids.Protocol(key)) {
				u.c.unknown = append(u.c.unknown, key)
			}
		}
		sort.Strings(u.c.unknown)
	}
	helper.Copy(up.Str|up.Int, "homeserver_wait")
	helper.Copy(up.Bool, "metrics", "enabled")
	helper.Copy(up.Str, "metrics", "listen")
	for _, p := range ids.Known {
		helper.Copy(up.Bool, string(p), "enabled")
		if proto := u.c.protocols[p]; proto != nil {
			proto.UpgradeConfig(&up.ProxyHelper{Target: helper, Prefix: []string{string(p)}})
		}
	}
}
