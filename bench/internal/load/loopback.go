package load

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// CheckLoopback reports whether addr ("host:port") names a loopback target:
// an IP literal in 127.0.0.0/8 (IPv4-mapped forms included), ::1, or
// "localhost" (taken as 127.0.0.1, never looked up). Anything else, an
// empty host included, wraps ErrNotLoopback.
func CheckLoopback(addr string) error {
	_, err := resolveLoopback(addr)
	return err
}

// resolveLoopback returns the literal address to dial.
func resolveLoopback(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad port %q", addr, port)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || !ip.Unmap().IsLoopback() {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w (only 127.0.0.0/8 and ::1 are allowed)", addr, ErrNotLoopback)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}
