package proxyheader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/chatd/chatd/internal/listen"
)

// Config turns the PROXY protocol on for a listener.
type Config struct {
	// Trusted are the load balancers whose header is believed. Must not
	// be empty.
	Trusted Trusted
	// Untrusted is what happens to connections from other peers.
	Untrusted Policy
	// HeaderTimeout bounds the wait for a trusted peer's header. Default
	// DefaultHeaderTimeout.
	HeaderTimeout time.Duration
	// MaxPending bounds headers being read at once (listen.Options).
	MaxPending int
	// MaxPendingPerBalancer bounds the headers being read at once from
	// one trusted peer. Default: half of MaxPending. (Only trusted peers
	// are ever read from; every connection through a balancer comes from
	// its address, so the bound is per balancer, not per client: wide
	// enough for a burst of honest connects, narrow enough that one
	// broken balancer leaves room for the others.)
	MaxPendingPerBalancer int
	// Log gets a line per connection closed for its header (summarised).
	Log *slog.Logger
}

// DefaultHeaderTimeout is long enough for a balancer across a slow link
// (it sends the header at once on connect) and short enough that stalled
// peers free their slot soon.
const DefaultHeaderTimeout = 3 * time.Second

// Listen wraps inner (a TCP listener) so that Accept returns connections
// whose header was read: a *Conn for a trusted peer, the plain
// *net.TCPConn for an untrusted one under Ignore.
func Listen(inner net.Listener, cfg Config) (*listen.HandshakeListener, error) {
	if len(cfg.Trusted) == 0 {
		return nil, errors.New("proxy protocol on with no trusted proxies: every connection would be refused")
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	hs := func(ctx context.Context, c net.Conn) (net.Conn, error) {
		return Handshake(ctx, c, cfg.Trusted, cfg.Untrusted)
	}
	maxPending := cmp.Or(cfg.MaxPending, listen.DefaultMaxPending)
	return listen.NewHandshakeListener(inner, hs, listen.Options{
		Name:                "PROXY header",
		Timeout:             cfg.HeaderTimeout,
		MaxPending:          maxPending,
		MaxPendingPerSource: cmp.Or(cfg.MaxPendingPerBalancer, max(maxPending/2, 1)),
		Classify:            classify,
		Log:                 cfg.Log,
	}), nil
}

// classify names a failed header's reason for the failure counts.
func classify(err error) listen.Reason {
	switch {
	case errors.Is(err, ErrUntrusted):
		return listen.ReasonUntrusted
	case errors.Is(err, ErrHeaderTimeout):
		return listen.ReasonTimeout
	case errors.Is(err, ErrClosedEarly):
		return listen.ReasonClosed
	case errors.Is(err, ErrNoHeader), errors.Is(err, ErrBadHeader):
		return listen.ReasonInvalid
	}
	return ""
}

// Handshake applies the policy to one new connection: reads a trusted
// peer's header, refuses or passes through an untrusted peer.
func Handshake(ctx context.Context, c net.Conn, trusted Trusted, untrusted Policy) (net.Conn, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, fmt.Errorf("PROXY protocol needs a TCP connection, not %T", c)
	}
	if !trusted.Contains(tc.RemoteAddr()) {
		if untrusted == Ignore {
			return tc, nil
		}
		return nil, ErrUntrusted
	}
	client, err := ReadHeader(ctx, tc)
	if err != nil {
		return nil, err
	}
	return Restore(tc, client), nil
}
