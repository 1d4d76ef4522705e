package sysunit

import "testing"

func TestOfCgroup(t *testing.T) {
	for _, c := range []struct{ cgroup, want string }{
		{"0::/system.slice/chatd.service\n", "chatd.service"},
		{"12:pids:/system.slice/chatd.service\n1:name=systemd:/system.slice/chatd.service\n0::/system.slice/chatd.service\n", "chatd.service"},
		{"0::/system.slice/chatd.service/sub\n", "chatd.service"},
		{"1:name=systemd:/sandbox.scope/system.slice/chatd.service\n", "chatd.service"},
		{"0::/machine.slice/machine-c1.scope/payload/system.slice/chatd.service\n", "chatd.service"},
		{"0::/user.slice/user-1000.slice/user@1000.service/app.slice/chatd.service\n", ""},
		{"0::/user.slice/user-0.slice/session-3.scope\n", ""},
		{"9:name=systemd:/\n0::/\n", ""},
		{"", ""},
	} {
		if got := ofCgroup(c.cgroup); got != c.want {
			t.Errorf("ofCgroup(%q) = %q, want %q", c.cgroup, got, c.want)
		}
	}
}
