package config

import (
	"bytes"
	"fmt"
)

// FromDocument reads a configuration from a YAML document such as YAML
// writes, with every check Load makes; the CHATD_* variables apply as
// usual, flags do not. It is how chatd goes on with the last good config a
// previous process handed over when the one on disk is broken.
func FromDocument(doc []byte, origin string) (*Config, error) {
	v := newViper()
	setDefaults(v)
	if err := v.ReadConfig(bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", origin, err)
	}
	cfg, err := decodeChecked(v, sources{v: v}, "", nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	cfg.Origin = origin
	return cfg, nil
}
