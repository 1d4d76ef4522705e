package proxyheader

import (
	"net"
	"testing"
)

func TestParseTrusted(t *testing.T) {
	tr, err := ParseTrusted([]string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1", "::ffff:198.51.100.0/120", " 203.0.113.9 "})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		peer string
		want bool
	}{
		{"10.1.2.3:5605", true},
		{"11.0.0.1:5605", false},
		{"192.0.2.7:1", true},
		{"192.0.2.8:1", false},
		{"[::ffff:10.9.9.9]:1", true}, // IPv4-mapped peer on a dual-stack socket
		{"[fd12::1]:1", true},
		{"[fe80::1]:1", false},
		{"[::1]:1", true},
		{"198.51.100.200:1", true}, // the mapped prefix matches its IPv4 form
		{"203.0.113.9:1", true},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.peer)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Contains(addr); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.peer, got, tt.want)
		}
	}
	if tr.Contains(&net.UnixAddr{Name: "/x", Net: "unix"}) {
		t.Error("a unix peer is trusted")
	}
	for _, bad := range []string{"10.0.0.1/8", "10.0.0.0/33", "example.com", "", "10.0.0"} {
		if _, err := ParseTrusted([]string{bad}); err == nil {
			t.Errorf("ParseTrusted(%q) succeeded, want an error", bad)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
		ok   bool
	}{
		{"", Refuse, true},
		{"refuse", Refuse, true},
		{"Ignore", Ignore, true},
		{"use", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParsePolicy(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && got.String() != map[Policy]string{Refuse: "refuse", Ignore: "ignore"}[got] {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}
