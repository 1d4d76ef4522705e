package config

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// YAML renders the config as a YAML document that chatd itself accepts,
// headed by a comment saying where the values come from.
func (c *Config) YAML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# effective chatd configuration from " + c.Origin + "\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
