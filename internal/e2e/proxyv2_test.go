package e2e

import (
	"strings"
	"testing"
	"time"
)

// v2Header is a PROXY v2 header: signature, version/command, family, the
// length and the body.
func v2Header(verCmd, family byte, body []byte) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n")
	b = append(b, verCmd, family, byte(len(body)>>8), byte(len(body)))
	return append(b, body...)
}

// A v2 PROXY header with the UNSPEC family (a balancer forwarding what it
// cannot describe) is served at the balancer's own address, as LOCAL is;
// a header declaring more than chatd takes is refused at its fixed part,
// long before the header timeout, while the peer keeps sending.
func TestProxyV2UnspecAndOversize(t *testing.T) {
	d := startChatdBehindBalancer(t) // header_timeout 10s
	c := dialFrom(t, "127.0.0.1", d.Addr)
	if _, err := c.Write(v2Header(0x21, 0x00, []byte{0x04, 0x00, 0x01, 'x'})); err != nil {
		t.Fatal(err)
	}
	echo(t, c, "unspec")
	list := listed(t, d.Socket)
	if len(list) != 1 || list[0].RemoteAddr != c.LocalAddr().String() {
		t.Fatalf("listed %+v, want the one client at the balancer's address %s", list, c.LocalAddr())
	}

	big := dialFrom(t, "127.0.0.1", d.Addr)
	start := time.Now()
	big.Write(v2Header(0x21, 0x11, nil)[:14])
	big.Write([]byte{0xff, 0xff})
	big.Write(make([]byte, 64)) // and never the rest
	if got := readAll(t, big); got != "" {
		t.Fatalf("oversized header read %q", got)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("oversized header closed after %v: waited for the declared bytes", took)
	}
	d.WaitLog("longer than chatd accepts", 10*time.Second)
	if !strings.Contains(d.Logs(), "declares 65535 bytes") {
		t.Errorf("log does not say why:\n%s", d.Logs())
	}
}
