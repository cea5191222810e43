package bridge_test

import "gopkg.in/yaml.v3"

type yamlNode = yaml.Node

func unmarshalYAML(data []byte, v any) error { return yaml.Unmarshal(data, v) }
