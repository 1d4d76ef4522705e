package service

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kservice "github.com/kardianos/service"
)

// fakeSystemd makes kardianos detect systemd (it takes an rpm-ostree on
// PATH as proof) and records what it asks systemctl to do, so that Install
// renders chatd's unit with kardianos' own engine into $HOME.
func fakeSystemd(t *testing.T) (home, calls string) {
	t.Helper()
	bin := t.TempDir()
	home = t.TempDir()
	calls = filepath.Join(bin, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + calls + "\n" +
		"case \"$1\" in --version) echo 'systemd 252 (252.38-1~deb12u1)';; esac\nexit 0\n"
	for _, name := range []string{"systemctl", "rpm-ostree"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Registered before Setenv, so it runs after PATH is restored: the
	// real system is detected again for the tests that follow.
	t.Cleanup(func() { kservice.ChooseSystem(kservice.AvailableSystems()...) })
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HOME", home)
	kservice.ChooseSystem(kservice.AvailableSystems()...)
	if p := kservice.Platform(); p != "linux-systemd" {
		t.Fatalf("kardianos detected %q with the fake systemd", p)
	}
	return home, calls
}

// renderUnit installs a user service with the fake systemd and returns the
// unit kardianos wrote.
func renderUnit(t *testing.T, o Options) string {
	t.Helper()
	home, calls := fakeSystemd(t)
	cfg, err := o.kardianosConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Option["UserService"] = true // writes under $HOME instead of /etc
	svc, err := kservice.New(&adapter{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Install(); err != nil {
		t.Fatalf("kardianos Install: %v", err)
	}
	unit, err := os.ReadFile(filepath.Join(home, ".config/systemd/user/chatd.service"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(calls)
	if !strings.Contains(string(got), "enable --user chatd.service") || !strings.Contains(string(got), "daemon-reload --user") {
		t.Errorf("systemctl calls:\n%s", got)
	}
	return string(unit)
}

func TestSystemdUnitRenderedByKardianos(t *testing.T) {
	unit := renderUnit(t, Options{
		Executable: "/usr/local/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml",
		User: "chatd", Group: "chatd",
	})
	for _, line := range []string{
		"Description=chatd chat server (answers every client in CAPITALS)",
		`ExecStart=/usr/local/bin/chatd "run" "--config" "/etc/chatd/chatd.yaml"`,
		"Type=notify",
		"Restart=always",
		"RestartSec=1",
		"StartLimitIntervalSec=60",
		"StartLimitBurst=30",
		"User=chatd",
		"Group=chatd",
		"RuntimeDirectory=chatd",
		"StateDirectory=chatd",
		"LimitNOFILE=65536",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"CapabilityBoundingSet=",
		"AmbientCapabilities=",
		"WantedBy=multi-user.target",
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit lacks the line %q", line)
		}
	}
	if strings.Contains(unit, "{{") || strings.Contains(unit, "RestartSec=120") {
		t.Errorf("unit not rendered from chatd's template:\n%s", unit)
	}
	verifyUnit(t, unit)
}

func TestSystemdUnitGrantsOnlyBindServiceForALowPort(t *testing.T) {
	unit := renderUnit(t, Options{
		Executable: "/opt/chat d/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", BindLowPort: true,
	})
	for _, line := range []string{
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE",
		`ExecStart=/opt/chat\x20d/chatd "run" "--config" "/etc/chatd/chatd.yaml"`,
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit lacks the line %q:\n%s", line, unit)
		}
	}
	if strings.Contains(unit, "Group=") {
		t.Errorf("no group was given, yet the unit sets one")
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// verifyUnit runs systemd-analyze verify on the unit where systemd is
// installed, with ExecStart pointing at a real executable.
func verifyUnit(t *testing.T, unit string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed; unit syntax is proven by the sandboxed systemd test only")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit = strings.ReplaceAll(unit, "/usr/local/bin/chatd", self)
	path := filepath.Join(t.TempDir(), "chatd.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// verify also reports on units the host lacks; only complaints about
	// this unit's own lines matter.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "chatd.service:") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
	if err != nil && !strings.Contains(string(out), "chatd.service") {
		t.Logf("systemd-analyze verify exited %v (not about chatd.service):\n%s", err, out)
	}
}
