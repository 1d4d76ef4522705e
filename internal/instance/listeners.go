package instance

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/chatlisten"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/proxyheader"
)

// openListeners opens every chat listener the configuration asks for:
// plain TCP on each `listen` address, TLS on each `tls.listen` address, the
// PROXY protocol in front of both when it is on. All or nothing: on an
// error nothing is left listening.
// The sockets the process before a restart left in the service manager's
// store are taken back instead of opened anew (see survive.go).
func (d *Instance) openListeners(ctx context.Context) (*chatlisten.Set, error) {
	cfg := d.cfg
	spec, err := listenSpec(cfg, d.log)
	if err != nil {
		return nil, err
	}
	if spec.TLS != nil {
		// Restarted onto broken certificate files: the one in force
		// before is served until a reload loads good files.
		spec.TLS.Material = d.surv.inh.keptTLS()
	}
	inherited := map[net.Listener]bool{}
	spec.Inherited = func(kind chatlisten.Kind, i int, addr string) net.Listener {
		ln := d.inheritedListener(kind, i, addr)
		if ln != nil {
			inherited[ln] = true
		}
		return ln
	}
	set, err := chatlisten.Open(ctx, spec)
	if err != nil {
		return nil, listenError(cfg, err)
	}
	d.storeListeners(set, inherited)
	if set.TLS != nil && spec.TLS.Material != nil && time.Now().After(set.TLS.NotAfter()) {
		d.log.Error("the kept TLS certificate has expired: TLS clients will refuse it until a reload loads good certificate files",
			"cert_file", cfg.TLS.CertFile, "not_after", set.TLS.NotAfter().UTC().Format(time.RFC3339))
	}
	return set, nil
}

// listenSpec turns the configuration's listener keys into chatlisten's
// Spec. The values were checked when the configuration was loaded; an error
// here means a Config built some other way.
func listenSpec(cfg *config.Config, log *logging.Logger) (chatlisten.Spec, error) {
	spec := chatlisten.Spec{Listen: cfg.Listen, Log: log.Logger}
	if pp := cfg.ProxyProtocol; pp.Enabled {
		trusted, err := proxyheader.ParseTrusted(pp.Trusted)
		if err != nil {
			return spec, fmt.Errorf("proxy_protocol.trusted: %w", err)
		}
		policy, err := proxyheader.ParsePolicy(pp.Policy)
		if err != nil {
			return spec, fmt.Errorf("proxy_protocol.policy: %w", err)
		}
		spec.Proxy = &proxyheader.Config{Trusted: trusted, Untrusted: policy, HeaderTimeout: pp.HeaderTimeout}
	}
	if len(cfg.TLS.Listen) > 0 {
		spec.TLS = &chatlisten.TLSSpec{Listen: cfg.TLS.Listen, Files: cfg.TLSFiles()}
	}
	return spec, nil
}

// serveListeners serves every listener of set; each Serve's end goes to
// d.served.
func (d *Instance) serveListeners(set *chatlisten.Set) {
	// Read here: a failed restart in place replaces both while the
	// goroutines of the stopped server may not have ended.
	srv, served := d.srv, d.served
	for _, l := range set.Listeners {
		go func() { served <- srv.Serve(l.Listener) }()
	}
}

// listenerNames are the listeners for the start's log line: "tcp
// 127.0.0.1:5605,tls [::1]:5606".
func listenerNames(set *chatlisten.Set) string {
	names := make([]string, len(set.Listeners))
	for i, l := range set.Listeners {
		names[i] = string(l.Kind) + " " + l.Addr().String()
	}
	return strings.Join(names, ",")
}

// reloadTLS loads the TLS certificate files again (a renewed certificate,
// or files the reload names) and says what it loaded (nil: no TLS
// listener). A certificate that does not load is refused and the one in
// force stays; connected clients are never touched, the next handshake
// uses the new one.
func (d *Instance) reloadTLS(next *config.Config) (*TLSReload, error) {
	d.mu.Lock()
	set := d.listeners
	d.mu.Unlock()
	if set == nil || set.TLS == nil {
		return nil, nil
	}
	before := set.TLS.Leaf()
	if err := set.TLS.Update(next.TLSFiles()); err != nil {
		return nil, fmt.Errorf("tls certificate: %w (the certificate in force stays)", err)
	}
	now := set.TLS.Leaf()
	loaded := &TLSReload{CertFile: next.TLS.CertFile, NotAfter: now.NotAfter, Renewed: !now.Equal(before)}
	d.log.Info("tls certificate loaded", "cert_file", next.TLS.CertFile, "not_after", now.NotAfter.UTC().Format("2006-01-02T15:04:05Z"),
		"renewed", loaded.Renewed)
	return loaded, nil
}

// tlsInForce is the TLS material the listeners serve, for the next
// process (nil: no TLS).
func (d *Instance) tlsInForce() *handover.TLS {
	d.mu.Lock()
	set := d.listeners
	d.mu.Unlock()
	if set == nil || set.TLS == nil {
		return nil
	}
	m := set.TLS.Material()
	if size := len(m.Cert) + len(m.Key) + len(m.ClientCA); size > handover.MaxTLSSize {
		// Left out rather than failing the whole hand-over.
		d.log.Warn("the TLS certificate files are too large to keep for the next process; a restart onto broken certificate files would fail",
			"bytes", size, "max", handover.MaxTLSSize)
		return nil
	}
	return &handover.TLS{Cert: m.Cert, Key: m.Key, ClientCA: m.ClientCA}
}
