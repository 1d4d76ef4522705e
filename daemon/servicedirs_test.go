package main

import "testing"

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{"/var/lib/chatd", "/var/lib/chatd", true},
		{"/var/lib/chatd/", "/var/lib/chatd", true},
		{"/run/chatd/admin.sock", "/run/chatd", true},
		{"/run/chatd-2/admin.sock", "/run/chatd", false},
		{"/var/lib/chatd/../other", "/var/lib/chatd", false},
		{"/var/lib", "/var/lib/chatd", false},
		{"/tmp/x", "/run/chatd", false},
	} {
		if got := within(c.path, c.dir); got != c.want {
			t.Errorf("within(%q, %q) = %v, want %v", c.path, c.dir, got, c.want)
		}
	}
}
