package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/chatd/chatd/internal/neterr"
)

// Open listens on every address in addrs (host:port, IPv6 in brackets)
// following the package's wildcard rule, and returns the listeners in the
// order given. On any error the listeners already opened are closed.
func Open(ctx context.Context, addrs []string) ([]net.Listener, error) {
	return OpenWith(ctx, addrs, nil)
}

// OpenWith is Open, but asks inherited first for each address (its index in
// addrs, and the address): a socket it returns, left by the process before
// a restart, is used as it is instead of a new one. It may be nil.
func OpenWith(ctx context.Context, addrs []string, inherited func(index int, addr string) net.Listener) ([]net.Listener, error) {
	if len(addrs) == 0 {
		return nil, errors.New("listen: no address given")
	}
	seen := make(map[string]bool, len(addrs))
	// Keep-alive finds clients that vanished without a FIN (a laptop
	// closed, a NAT entry dropped) in about two minutes, so they do not
	// hold a place for the OS default of hours.
	lc := net.ListenConfig{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 60 * time.Second, Interval: 15 * time.Second, Count: 4,
	}}
	lns := make([]net.Listener, 0, len(addrs))
	fail := func(err error) ([]net.Listener, error) {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	for i, addr := range addrs {
		network, err := Network(addr)
		if err != nil {
			return fail(err)
		}
		if seen[addr] {
			return fail(fmt.Errorf("listen %s: given twice", addr))
		}
		seen[addr] = true
		if inherited != nil {
			if ln := inherited(i, addr); ln != nil {
				lns = append(lns, ln)
				continue
			}
		}
		ln, err := lc.Listen(ctx, network, addr)
		if err != nil {
			return fail(&Error{Addr: addr, Err: err})
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// Error is a listen that failed: "listen 127.0.0.1:5605: address already
// in use". Go's own error says "listen tcp4 127.0.0.1:5605: bind: " before
// the cause; the address is said once, and errors.Is still finds the
// errno (syscall.EADDRINUSE) through Unwrap.
type Error struct {
	Addr string // as configured
	Err  error  // from net.ListenConfig.Listen
}

func (e *Error) Error() string { return "listen " + e.Addr + ": " + neterr.Cause(e.Err).Error() }

func (e *Error) Unwrap() error { return e.Err }

// Network says which network ("tcp4", "tcp6" or "tcp" for both) Open
// listens on for addr, or why addr cannot be listened on.
//
// Go's own "tcp" would make "0.0.0.0" dual-stack on Linux; chatd keeps the
// rule operators know from other servers instead: 0.0.0.0 is IPv4 only and
// [::] is both.
func Network(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen %s: %w (want host:port, IPv6 in brackets: [::1]:5605)", addr, err)
	}
	if port == "" {
		return "", fmt.Errorf("listen %s: no port", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", fmt.Errorf("listen %s: bad port %q", addr, port)
	}
	if host == "" {
		return "tcp", nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("listen %s: %q is not an IP address (names are not resolved; give each address to listen on)", addr, host)
	}
	switch {
	case ip.Is4():
		return "tcp4", nil
	case ip == netip.IPv6Unspecified():
		return "tcp", nil
	case ip.Is4In6():
		// ::ffff:a.b.c.d is an IPv4 address written as IPv6; listening
		// on it means listening on a.b.c.d.
		return "tcp4", nil
	default:
		return "tcp6", nil
	}
}
