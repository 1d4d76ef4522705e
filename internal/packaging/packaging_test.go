package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/service"
)

// The derived versions must upgrade each other in dpkg's order.
func TestDerivedVersionsSortForDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg is not installed")
	}
	order := []string{"0.0.0~git20261201211200.422cbac", "0.0.0~git20261201211300.0000000", "0.0.0", "1.2.0", "1.2.0+3.g422cbac", "1.2.0+3.g422cbac.dirty", "1.2.0+10.gabcdef0", "1.3.0~rc1", "1.3.0~rc1+2.gabcdef0", "1.3.0", "1.10.0"}
	for i := 1; i < len(order); i++ {
		if err := exec.Command(dpkg, "--compare-versions", order[i-1]+"-1", "lt", order[i]+"-1").Run(); err != nil {
			t.Errorf("dpkg does not sort %s before %s", order[i-1], order[i])
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"1.0.0", "0.0.0~git1.abc", "2+b1"} {
		if err := checkVersion(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range []string{"", "v1.0.0", "1.0-1", "1:1.0", "1.0 beta", "dev"} {
		if err := checkVersion(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestServiceConfig(t *testing.T) {
	sample, err := os.ReadFile("../../configs/chatd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := serviceConfig(string(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`state_dir: "/var/lib/chatd"`, `  socket: "/run/chatd/admin.sock"`, `  group: "chatd"`} {
		if !slices.Contains(strings.Split(got, "\n"), line) {
			t.Errorf("packaged config lacks %q", line)
		}
	}
	if _, err := serviceConfig("listen: x\n"); err == nil {
		t.Errorf("a sample without the edited lines was accepted")
	}
}

// TestPackage builds the package for this machine's architecture and
// checks what is in it; with lintian installed, that it reports no error
// and only the warnings the README justifies.
func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chatd three times over; skipped with -short")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is not installed (.ci/run installs it)")
	}
	out := t.TempDir()
	// The packager runs as its own process, as `go run .` would: compressing
	// the binaries under the race detector takes many minutes.
	var stdout bytes.Buffer
	cmd := exec.Command("go", "run", ".", "-out", out, "-arch", runtime.GOARCH, "-version", "1.2.3")
	cmd.Stdout = &stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run . : %v\n%s", err, stderr.String())
	}
	deb := filepath.Join(out, "chatd_1.2.3-1_"+runtime.GOARCH+".deb")
	rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	for _, f := range []string{deb, filepath.Join(out, "chatd-1.2.3-1."+rpmArch+".rpm")} {
		if !strings.Contains(stdout.String(), f) {
			t.Errorf("%s not reported as built:\n%s", f, stdout.String())
		}
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	list := dpkgDeb(t, "-c", deb)
	for _, want := range []string{
		"./usr/bin/chatd", "./usr/bin/chatctl", "./usr/bin/chat",
		"./usr/lib/systemd/system/chatd.service", "./etc/chatd/chatd.yaml",
		"./usr/share/man/man8/chatd.8.gz", "./usr/share/man/man8/chatctl.8.gz", "./usr/share/man/man1/chat.1.gz",
		"./usr/share/bash-completion/completions/chatctl", "./usr/share/zsh/vendor-completions/_chatctl",
		"./usr/share/fish/vendor_completions.d/chatctl.fish",
		"./usr/share/doc/chatd/copyright", "./usr/share/doc/chatd/changelog.Debian.gz",
	} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("the package lacks %s:\n%s", want, list)
		}
	}
	if c := dpkgDeb(t, "-I", deb, "conffiles"); strings.TrimSpace(c) != "/etc/chatd/chatd.yaml" {
		t.Errorf("conffiles = %q", c)
	}
	if v := dpkgDeb(t, "-f", deb, "Version"); strings.TrimSpace(v) != "1.2.3-1" {
		t.Errorf("Version = %q", v)
	}
	// One source for the unit: what `chatd service install` would write
	// for /usr/bin/chatd (internal/service's tests hold SystemdUnitFile
	// equal to kardianos' rendering).
	unit := extract(t, deb, "./usr/lib/systemd/system/chatd.service")
	want, err := service.SystemdUnitFile(serviceOptions())
	if err != nil {
		t.Fatal(err)
	}
	if unit != want {
		t.Errorf("packaged unit:\n%s\nwant:\n%s", unit, want)
	}
	if !strings.Contains(unit, `ExecStart=/usr/bin/chatd "run" "--config" "/etc/chatd/chatd.yaml"`) {
		t.Errorf("the unit does not run /usr/bin/chatd:\n%s", unit)
	}
	// The binaries carry the package's version.
	bin := filepath.Join(t.TempDir(), "chatd")
	if err := os.WriteFile(bin, []byte(extract(t, deb, "./usr/bin/chatd")), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := exec.Command(bin, "version").Output(); err != nil || string(v) != "chatd 1.2.3\n" {
		t.Errorf("chatd version: %q, %v", v, err)
	}
	lintianClean(t, deb)

	// The RPM is the same description with RPM's own scripts.
	rpm, err := os.ReadFile(filepath.Join(out, "chatd-1.2.3-1."+rpmArch+".rpm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rpm, []byte("groupadd --system chatd")) || bytes.Contains(rpm, []byte("deb-systemd-helper")) {
		t.Errorf("the rpm does not carry the RPM maintainer scripts (and only those)")
	}
	if rpmCmd, err := exec.LookPath("rpm"); err == nil {
		list, err := exec.Command(rpmCmd, "-qlp", filepath.Join(out, "chatd-1.2.3-1."+rpmArch+".rpm")).Output()
		if err != nil {
			t.Fatalf("rpm -qlp: %v", err)
		}
		for _, want := range []string{"/usr/bin/chatd", "/usr/lib/systemd/system/chatd.service", "/etc/chatd/chatd.yaml", "/usr/share/man/man8/chatctl.8.gz"} {
			if !strings.Contains(string(list), want+"\n") {
				t.Errorf("the rpm lacks %s:\n%s", want, list)
			}
		}
	}
}

// allowedLintianWarnings are the warnings left, each justified in the
// README's packaging section.
var allowedLintianWarnings = []string{
	"initial-upload-closes-no-bugs",      // not uploaded to Debian: no ITP bug to close
	"shared-library-lacks-prerequisites", // Go's static PIE needs no libc, lintian expects one
}

func lintianClean(t *testing.T, deb string) {
	t.Helper()
	lintian, err := exec.LookPath("lintian")
	if err != nil {
		t.Log("lintian is not installed (.ci/run installs it); not checked")
		return
	}
	out, _ := exec.Command(lintian, "--no-cfg", deb).CombinedOutput() // exits 2 on errors: the tags tell
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || (f[0] != "E:" && f[0] != "W:") {
			continue
		}
		if f[0] == "W:" && slices.Contains(allowedLintianWarnings, f[2]) {
			continue
		}
		t.Errorf("lintian: %s", l)
	}
	t.Logf("lintian:\n%s", out)
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", args...).Output()
	if err != nil {
		t.Fatalf("dpkg-deb %v: %v", args, err)
	}
	return string(out)
}

func extract(t *testing.T, deb, path string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "-xOf", "-", path)
	cmd.Stdin = bytes.NewReader(out)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("tar -x %s: %v", path, err)
	}
	return string(b)
}

// The packaged config is checked by chatd itself reading each edited key
// back; a config that does not set them is refused.
func TestCheckConfigReadsTheEditsBackFromChatd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chatd; skipped with -short")
	}
	chatd := filepath.Join(t.TempDir(), "chatd")
	build := exec.Command("go", "build", "-o", chatd, "./daemon")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./daemon: %v\n%s", err, out)
	}
	sample, err := os.ReadFile("../../configs/chatd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited, err := serviceConfig(string(sample))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bare := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bare.yaml")
	os.WriteFile(good, []byte(edited), 0o644)
	os.WriteFile(bare, sample, 0o644)
	if err := checkConfig(chatd, good); err != nil {
		t.Errorf("the packaged config: %v", err)
	}
	// (As root, the unedited state_dir and admin.socket are the
	// service's already: the group is what tells.)
	if err := checkConfig(chatd, bare); err == nil || !strings.Contains(err.Error(), `admin.group = ""`) {
		t.Errorf("the unedited sample: %v, want refused naming admin.group", err)
	}
}
