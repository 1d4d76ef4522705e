package config

import (
	"bytes"
	"time"

	"go.yaml.in/yaml/v3"
)

// YAML renders the config as a YAML document that chatd itself accepts,
// headed by a comment saying where the values come from. Every string is
// double-quoted, as in configs/chatd.yaml: "0660" stays a string and a
// notice starting with * is not read as an alias.
func (c *Config) YAML() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, err
	}
	quoteStrings(&doc)
	var b bytes.Buffer
	b.WriteString("# effective chatd configuration from " + c.Origin + "\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// quoteStrings double-quotes the string values (not the keys) of a
// mapping and writes lists on one line; durations stay plain (30s), as in
// configs/chatd.yaml.
func quoteStrings(n *yaml.Node) {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for i := 1; i < len(n.Content); i += 2 {
		v := n.Content[i]
		if v.Kind == yaml.SequenceNode {
			// Lists on one line, as in configs/chatd.yaml:
			// listen: ["127.0.0.1:5605", "[::1]:5605"].
			v.Style = yaml.FlowStyle
			for _, item := range v.Content {
				item.Style = yaml.DoubleQuotedStyle
			}
			continue
		}
		if _, err := time.ParseDuration(v.Value); v.Kind == yaml.ScalarNode && v.Tag == "!!str" && err != nil {
			v.Style = yaml.DoubleQuotedStyle
		}
		quoteStrings(v)
	}
}
