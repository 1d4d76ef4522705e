package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// YAML renders the config as a YAML document that chatd itself accepts:
// durations as Go durations, a comment naming the file it came from.
func (c *Config) YAML() ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	src := c.File
	if src == "" {
		src = "none (built-in defaults)"
	}
	doc.HeadComment = "effective chatd configuration; config file: " + src
	sections := map[string]*yaml.Node{}
	flat := flatten(*c)
	for _, key := range knownKeys() {
		val := flat[key]
		parent, name := root, key
		if i := strings.IndexByte(key, '.'); i >= 0 {
			sec := key[:i]
			name = key[i+1:]
			if sections[sec] == nil {
				sections[sec] = &yaml.Node{Kind: yaml.MappingNode}
				root.Content = append(root.Content, scalar(sec, "!!str"), sections[sec])
			}
			parent = sections[sec]
		}
		parent.Content = append(parent.Content, scalar(name, "!!str"), valueNode(val))
	}
	return yaml.Marshal(doc)
}

func scalar(v, tag string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}

func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case time.Duration:
		return scalar(x.String(), "!!str")
	case int:
		return scalar(fmt.Sprint(x), "!!int")
	case string:
		n := scalar(x, "!!str")
		n.Style = yaml.DoubleQuotedStyle
		return n
	}
	return scalar(fmt.Sprint(v), "!!str")
}
