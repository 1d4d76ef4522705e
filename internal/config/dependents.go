package config

import "fmt"

// dependent is a key that does something only while another one is on:
// set alone it would be accepted and silently do nothing (trusted
// balancers with the PROXY protocol off answer their headers as chat), so
// it is refused instead, naming the key it waits for.
type dependent struct {
	key    string
	needs  string             // the key that turns it on
	off    string             // needs's value that leaves key without effect, as the error says it
	active func(*Config) bool // whether needs turns key on
	turnOn string             // what turns it on, for the fix
}

var dependents = func() []dependent {
	proxyOn := func(c *Config) bool { return c.ProxyProtocol.Enabled }
	tlsOn := func(c *Config) bool { return len(c.TLS.Listen) > 0 }
	idleOn := func(c *Config) bool { return c.IdleTimeout > 0 }
	perSourceOn := func(c *Config) bool { return c.MaxClientsPerSource > 0 }
	var out []dependent
	for _, k := range []string{"proxy_protocol.trusted", "proxy_protocol.policy", "proxy_protocol.header_timeout"} {
		out = append(out, dependent{k, "proxy_protocol.enabled", "false", proxyOn, "set proxy_protocol.enabled: true"})
	}
	for _, k := range []string{"tls.cert_file", "tls.key_file", "tls.client_ca"} {
		out = append(out, dependent{k, "tls.listen", "empty", tlsOn, "add an address to tls.listen"})
	}
	out = append(out,
		dependent{"notices.idle", "idle_timeout", "0", idleOn, "set idle_timeout"},
		dependent{"notices.source_full", "max_clients_per_source", "0", perSourceOn, "set max_clients_per_source"},
	)
	return out
}()

// checkDependents refuses a key set away from its default while the key
// it depends on leaves it without effect. A key at its default is never
// refused, so a file that spells every default out (configs/chatd.yaml)
// stays valid.
func checkDependents(c *Config, src sources) error {
	def := Defaults()
	for _, d := range dependents {
		if d.active(c) || same(field(c, d.key), field(&def, d.key)) {
			continue
		}
		return &Error{Key: d.key, Value: fmt.Sprint(field(c, d.key).Interface()), Source: src.of(d.key),
			Reason: fmt.Sprintf("does nothing while %s is %s: %s, or remove %s", d.needs, d.off, d.turnOn, d.key)}
	}
	return nil
}
