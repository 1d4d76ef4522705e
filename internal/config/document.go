package config

import (
	"bytes"
	"fmt"

	"github.com/chatd/chatd/internal/tlslisten"
)

// FromDocument reads a configuration from a YAML document such as YAML
// writes, with every check Load makes; the CHATD_* variables apply as
// usual, flags do not. It is how chatd goes on with the last good config a
// previous process handed over when the one on disk is broken.
func FromDocument(doc []byte, origin string) (*Config, error) {
	return FromKept(doc, nil, origin)
}

// FromKept is FromDocument for a config kept together with the TLS
// material it served with (tls; nil: read the files tls.* names): the
// certificate is checked as it was kept, not as the files on disk are now,
// which may have been broken since.
func FromKept(doc []byte, tls *tlslisten.Material, origin string) (*Config, error) {
	v := newViper()
	setDefaults(v)
	if err := v.ReadConfig(bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", origin, err)
	}
	cfg, err := decodeCheckedOn(v, sources{v: v}, "", nil, checkOptions{onThisHost: true, tls: tls, ranBefore: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	cfg.Origin = origin
	return cfg, nil
}
