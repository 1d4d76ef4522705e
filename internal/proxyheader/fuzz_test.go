package proxyheader

import (
	"net"
	"testing"
)

// Whatever a peer sends, finding the header's length and parsing it never
// panics, never asks to take more than a header can be, and a parse that
// succeeds gives an address.
func FuzzHeader(f *testing.F) {
	for _, seed := range []string{
		"PROXY TCP4 127.0.0.77 127.0.0.1 40000 5605\r\nhello",
		"PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY TCP4 1.2.3.4\r\n",
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x4d\x7f\x00\x00\x01\x9c\x40\x15\xe5",
		"\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00",
		"\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24",
		"\r\n\r\n\x00\r\nQUIT\n\x21\x00\x00\x00",             // PROXY, UNSPEC: the balancer's address
		"\r\n\r\n\x00\r\nQUIT\n\x21\x00\x00\x03\x04\x00\x00", // PROXY, UNSPEC, a NOOP TLV
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff",             // longer than chatd takes
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x10\x01",             // one byte longer
		"\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c",             // version 3
		"hello\n",
		"PRO",
	} {
		f.Add([]byte(seed))
	}
	peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		need, complete, err := parseLen(data)
		if err != nil || !complete {
			return
		}
		if need <= 0 || need > v2FixedLen+maxV2Body {
			t.Fatalf("parseLen(%q) = %d", data, need)
		}
		if need > len(data) {
			return // the rest would still have to arrive
		}
		addr, err := parseHeader(data[:need], peer)
		if err == nil && addr == nil {
			t.Fatalf("parseHeader(%q) gave no address and no error", data[:need])
		}
		if isV2ProxyUnspec(data[:need]) && (err != nil || addr != peer) {
			t.Fatalf("parseHeader(%q) = %v, %v for PROXY UNSPEC; want the peer's address", data[:need], addr, err)
		}
	})
}
