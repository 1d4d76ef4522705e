// Package chatlisten opens chatd's chat listeners as the configuration
// describes them: plain TCP on every `listen` address, TLS on every
// `tls.listen` address, and the PROXY protocol, when on, in front of both
// (a balancer in TCP mode sends the header first and the TLS bytes after
// it, so the header is read before the handshake and the TLS connection's
// RemoteAddr is the client's).
//
// Every listener Accept returns only connections ready to be served (the
// header read, the handshake done), so the server counts a connection
// against max_clients and the per-source limit only once it is real.
package chatlisten

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/chatd/chatd/internal/listen"
	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/tlslisten"
)

// Spec is what the configuration says about the chat listeners.
type Spec struct {
	// Listen are the plain addresses (`listen`); may be empty if TLS
	// listens.
	Listen []string
	// Proxy, if not nil, turns the PROXY protocol on for every listener
	// (`proxy_protocol.*`).
	Proxy *proxyheader.Config
	// TLS, if not nil, adds TLS listeners (`tls.*`).
	TLS *TLSSpec
	// Log gets the listeners' failed handshakes (summarised).
	Log *slog.Logger
	// Inherited, if not nil, is asked first for the index-th address of
	// each kind: a listening socket the process before a restart left
	// (nil: open a new one).
	Inherited func(kind Kind, index int, addr string) net.Listener
}

// inherited is spec.Inherited for one kind of listener.
func (spec Spec) inherited(kind Kind) func(int, string) net.Listener {
	if spec.Inherited == nil {
		return nil
	}
	return func(i int, addr string) net.Listener { return spec.Inherited(kind, i, addr) }
}

// TLSSpec is the `tls` section.
type TLSSpec struct {
	Listen           []string
	Files            tlslisten.Files
	HandshakeTimeout time.Duration // 0: tlslisten.DefaultHandshakeTimeout
	// Material, if not nil, is served instead of reading Files: what a
	// restarted chatd kept of the certificate in force before (served
	// even if it has expired since: tlslisten.NewServerKept).
	Material *tlslisten.Material
}

// Kind says what a listener serves.
type Kind string

// Kinds of listener.
const (
	Plain Kind = "tcp"
	TLS   Kind = "tls"
)

// Listener is one chat listener.
type Listener struct {
	net.Listener      // what the server accepts on
	Kind         Kind // plain or TLS
	// Socket is the listening socket under any wrapper, for handing it
	// to a restarted process.
	Socket net.Listener
	// Stages are the handshakes a connection goes through before it is
	// served, outermost first: the PROXY header, the TLS handshake.
	Stages []Stage
}

// Stage is one handshake of a listener, for its counts.
type Stage struct {
	Name string // StageProxy or StageTLS
	*listen.HandshakeListener
}

// Stage names, as metrics and status show them.
const (
	StageProxy = "proxy"
	StageTLS   = "tls"
)

// Set is every chat listener of one chatd.
type Set struct {
	Listeners []Listener
	// TLS is the certificate in force (nil without TLS): Update it on a
	// reload.
	TLS *tlslisten.Server
}

// Open checks spec (TLS files included) and listens on every address; on
// any error nothing stays open.
func Open(ctx context.Context, spec Spec) (*Set, error) {
	if len(spec.Listen) == 0 && (spec.TLS == nil || len(spec.TLS.Listen) == 0) {
		return nil, errors.New("no listen address")
	}
	set := &Set{}
	if spec.TLS != nil {
		if len(spec.TLS.Listen) == 0 {
			return nil, errors.New("tls: no tls.listen address")
		}
		var err error
		if m := spec.TLS.Material; m != nil {
			set.TLS, err = tlslisten.NewServerKept(spec.TLS.Files, *m)
		} else {
			set.TLS, err = tlslisten.NewServer(spec.TLS.Files)
		}
		if err != nil {
			return nil, err
		}
	}
	var plainSockets, tlsSockets []net.Listener
	var err error
	if len(spec.Listen) > 0 {
		if plainSockets, err = listen.OpenWith(ctx, spec.Listen, spec.inherited(Plain)); err != nil {
			return nil, err
		}
	}
	if spec.TLS != nil {
		if tlsSockets, err = listen.OpenWith(ctx, spec.TLS.Listen, spec.inherited(TLS)); err != nil {
			closeAll(plainSockets)
			return nil, fmt.Errorf("tls: %w", err)
		}
	}
	for _, ln := range plainSockets {
		l, err := set.Wrap(ln, Plain, spec)
		if err != nil {
			set.Close()
			closeAll(plainSockets, tlsSockets)
			return nil, err
		}
		set.Listeners = append(set.Listeners, l)
	}
	for _, ln := range tlsSockets {
		l, err := set.Wrap(ln, TLS, spec)
		if err != nil {
			set.Close()
			closeAll(tlsSockets)
			return nil, err
		}
		set.Listeners = append(set.Listeners, l)
	}
	return set, nil
}

// Wrap puts socket (opened by Open, or inherited from the process before a
// restart) behind what spec asks for. It does not add it to the set.
func (s *Set) Wrap(socket net.Listener, kind Kind, spec Spec) (Listener, error) {
	ln := socket
	var stages []Stage
	if spec.Proxy != nil {
		cfg := *spec.Proxy
		if cfg.Log == nil {
			cfg.Log = spec.Log
		}
		pl, err := proxyheader.Listen(ln, cfg)
		if err != nil {
			return Listener{}, fmt.Errorf("proxy_protocol: %w", err)
		}
		ln = pl
		stages = append(stages, Stage{StageProxy, pl})
	}
	if kind == TLS {
		if s.TLS == nil {
			return Listener{}, errors.New("tls: a TLS listener without tls.cert_file and tls.key_file")
		}
		var timeout time.Duration
		if spec.TLS != nil {
			timeout = spec.TLS.HandshakeTimeout
		}
		tl := tlslisten.Listen(ln, s.TLS, tlslisten.Options{HandshakeTimeout: timeout, Log: spec.Log})
		ln = tl
		stages = append(stages, Stage{StageTLS, tl})
	}
	return Listener{Listener: ln, Kind: kind, Socket: socket, Stages: stages}, nil
}

// HandshakeStats adds up the handshake counts of every listener by stage
// (StageProxy, StageTLS); a stage no listener runs is absent.
func (s *Set) HandshakeStats() map[string]listen.Stats {
	out := map[string]listen.Stats{}
	for _, l := range s.Listeners {
		for _, st := range l.Stages {
			sum, ok := out[st.Name]
			if !ok {
				sum.Failed = make(map[listen.Reason]uint64, len(listen.Reasons))
			}
			one := st.Stats()
			sum.Pending += one.Pending
			for r, n := range one.Failed {
				sum.Failed[r] += n
			}
			out[st.Name] = sum
		}
	}
	return out
}

// Close closes every listener.
func (s *Set) Close() error {
	var errs []error
	for _, l := range s.Listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func closeAll(groups ...[]net.Listener) {
	for _, g := range groups {
		for _, ln := range g {
			ln.Close()
		}
	}
}
