package bridgeproc

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is a bridge config file opened for editing. Edits go through the
// YAML node tree so the comments of the generated example config survive,
// which keeps kept-for-debugging configs readable.
type Config struct {
	path string
	doc  yaml.Node
}

// OpenConfig reads a YAML config file for editing.
func OpenConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c := &Config{path: path}
	if err := yaml.Unmarshal(data, &c.doc); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	if c.doc.Kind != yaml.DocumentNode || len(c.doc.Content) != 1 || c.doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s is not a YAML mapping", path)
	}
	return c, nil
}

// Set sets the value at a dotted path (e.g. "homeserver.address"),
// creating missing mappings. value is encoded like yaml.Marshal would.
// Keys containing dots can be given with SetPath.
func (c *Config) Set(path string, value any) error {
	return c.SetPath(strings.Split(path, "."), value)
}

// SetPath sets the value at the key path, creating missing mappings.
func (c *Config) SetPath(keys []string, value any) error {
	var valNode yaml.Node
	if err := valNode.Encode(value); err != nil {
		return fmt.Errorf("encode value for %s: %w", strings.Join(keys, "."), err)
	}
	node := c.doc.Content[0]
	for i, key := range keys {
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("config key %s is not a mapping", strings.Join(keys[:i], "."))
		}
		child := mappingValue(node, key)
		last := i == len(keys)-1
		switch {
		case child != nil && last:
			// Keep the comments attached to the old value.
			valNode.HeadComment, valNode.LineComment, valNode.FootComment = child.HeadComment, child.LineComment, child.FootComment
			*child = valNode
		case child != nil:
			node = child
		case last:
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &valNode)
		default:
			child = &yaml.Node{Kind: yaml.MappingNode}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, child)
			node = child
		}
	}
	return nil
}

// Get decodes the value at a dotted path into out; found is false when
// the path does not exist.
func (c *Config) Get(path string, out any) (found bool, err error) {
	node := c.doc.Content[0]
	for _, key := range strings.Split(path, ".") {
		if node.Kind != yaml.MappingNode {
			return false, nil
		}
		if node = mappingValue(node, key); node == nil {
			return false, nil
		}
	}
	if err := node.Decode(out); err != nil {
		return true, fmt.Errorf("decode config key %s: %w", path, err)
	}
	return true, nil
}

// GetString returns the string at a dotted path, or "" when absent.
func (c *Config) GetString(path string) string {
	var s string
	if _, err := c.Get(path, &s); err != nil {
		return ""
	}
	return s
}

// Save writes the config back to its file.
func (c *Config) Save() error {
	data, err := yaml.Marshal(&c.doc)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.WriteFile(c.path, data, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
