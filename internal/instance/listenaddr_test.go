package instance

import (
	"net"
	"testing"
)

// An inherited listener is used only where the config says to listen.
func TestSameListenAddr(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5605}
	any6 := &net.TCPAddr{IP: net.IPv6unspecified, Port: 5605}
	for _, tc := range []struct {
		got  *net.TCPAddr
		want string
		same bool
	}{
		{v4, "127.0.0.1:5605", true},
		{v4, "127.0.0.1:0", true}, // any port was asked for
		{v4, "127.0.0.1:5606", false},
		{v4, "127.0.0.2:5605", false},
		{v4, ":5605", false},
		{any6, ":5605", true},
		{any6, "127.0.0.1:5605", false},
		{v4, "not an address", false},
	} {
		if got := sameListenAddr(tc.got, tc.want); got != tc.same {
			t.Errorf("sameListenAddr(%v, %q) = %v, want %v", tc.got, tc.want, got, tc.same)
		}
	}
}
