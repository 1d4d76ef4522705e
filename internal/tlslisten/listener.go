package tlslisten

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/chatd/chatd/internal/listen"
)

// DefaultHandshakeTimeout bounds a handshake: a few round trips on any
// link a chat client uses, with room for a slow one.
const DefaultHandshakeTimeout = 10 * time.Second

// Options bound the handshakes.
type Options struct {
	HandshakeTimeout time.Duration // default DefaultHandshakeTimeout
	MaxPending       int           // see listen.Options
	Log              *slog.Logger  // failed handshakes (summarised)
}

// Listen serves TLS on inner: Accept returns *tls.Conn whose handshake
// finished. inner may itself be a PROXY listener (the header comes before
// the TLS bytes), in which case RemoteAddr is the client's.
func Listen(inner net.Listener, s *Server, opt Options) *listen.HandshakeListener {
	if opt.HandshakeTimeout <= 0 {
		opt.HandshakeTimeout = DefaultHandshakeTimeout
	}
	cfg := s.Config()
	hs := func(ctx context.Context, c net.Conn) (net.Conn, error) {
		tc := tls.Server(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	return listen.NewHandshakeListener(inner, hs, listen.Options{
		Name:       "TLS handshake",
		Timeout:    opt.HandshakeTimeout,
		MaxPending: opt.MaxPending,
		Log:        opt.Log,
	})
}
