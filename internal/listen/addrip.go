package listen

import (
	"net"
	"net/netip"
)

// AddrIP is addr's IP, unmapped and without zone, for comparing client
// addresses (trusted balancers, per-source counts) whatever form the
// address came in.
func AddrIP(addr net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		var ok bool
		if ip, ok = netip.AddrFromSlice(a.IP); !ok {
			return netip.Addr{}, false
		}
	default:
		if addr == nil {
			return netip.Addr{}, false
		}
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	return ip.Unmap().WithZone(""), true
}
