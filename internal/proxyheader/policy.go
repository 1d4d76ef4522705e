package proxyheader

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/chatd/chatd/internal/listen"
)

// Policy is what happens to a connection from a peer that is not trusted.
type Policy int

const (
	// Refuse closes it at once, unread. The default.
	Refuse Policy = iota
	// Ignore serves it as a direct client at its own address, reading no
	// header from it.
	Ignore
)

// String is the policy's configuration spelling.
func (p Policy) String() string {
	switch p {
	case Refuse:
		return "refuse"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy reads "refuse" or "ignore"; the empty string is the default,
// Refuse.
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "refuse":
		return Refuse, nil
	case "ignore":
		return Ignore, nil
	}
	return 0, fmt.Errorf("proxy protocol policy %q: want refuse or ignore", s)
}

// Trusted is the set of peers whose PROXY header is believed.
type Trusted []netip.Prefix

// ParseTrusted reads addresses ("10.0.0.5", "::1") and CIDR prefixes
// ("10.0.0.0/8", "fd00::/8"). A prefix with host bits set is refused, as
// it is almost always a typo for a different range.
func ParseTrusted(list []string) (Trusted, error) {
	out := make(Trusted, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			p, err = netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted %q: not an address or CIDR prefix", s)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("trusted %q: host bits set (did you mean %s?)", s, p.Masked())
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted %q: not an address or CIDR prefix", s)
			}
			a = a.WithZone("")
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out, nil
}

// Contains says whether addr (a *net.TCPAddr or anything whose String is
// host:port) is trusted.
func (t Trusted) Contains(addr net.Addr) bool {
	ip, ok := listen.AddrIP(addr)
	if !ok {
		return false
	}
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
