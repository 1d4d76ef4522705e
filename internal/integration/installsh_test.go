package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func installSh(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstallShIsShellcheckClean(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed (.ci/run installs it)")
	}
	out, err := exec.Command(sc, "--shell=sh", "--severity=style", installSh(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck install.sh: %v\n%s", err, out)
	}
}

// exitCode runs cmd and returns its exit status and combined output.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return 0, string(out)
}

func TestInstallShUsage(t *testing.T) {
	sh := installSh(t)
	if code, out := exitCode(t, exec.Command(sh, "--help")); code != 0 || !strings.Contains(out, "--uninstall") {
		t.Errorf("--help: exit %d:\n%s", code, out)
	}
	for _, args := range [][]string{{"--bogus"}, {"--purge"}, {"--prefix"}, {"--prefix", "relative"}} {
		code, out := exitCode(t, exec.Command(sh, args...))
		if code != 2 || strings.Count(strings.TrimSpace(out), "\n") > 1 {
			t.Errorf("%v: exit %d, want 2 with a short message:\n%s", args, code, out)
		}
	}
}

func TestInstallShRefusesNonRoot(t *testing.T) {
	cmd := exec.Command(installSh(t), "--no-start")
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("setpriv is not installed: cannot drop root for this test")
		}
		cmd = exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", installSh(t), "--no-start")
	}
	code, out := exitCode(t, cmd)
	if code != 2 || !strings.Contains(out, "must be run as root") {
		t.Fatalf("as non-root: exit %d:\n%s", code, out)
	}
}

// install.sh builds before it changes anything, so a missing or old Go is
// safe to try as root on the host: it stops at the check.
func TestInstallShRefusesOldOrMissingGo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("install.sh checks Go only after the root check")
	}
	oldGo := filepath.Join(t.TempDir(), "go")
	if err := os.WriteFile(oldGo, []byte("#!/bin/sh\necho go1.20.14\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ goPath, want string }{
		"old":     {oldGo, "Go 1.20.14 is too old: chatd needs Go 1.26"},
		"missing": {"/nonexistent/go", "is not a command"},
	} {
		cmd := exec.Command(installSh(t), "--no-start", "--prefix", t.TempDir())
		cmd.Env = append(os.Environ(), "GO="+c.goPath)
		code, out := exitCode(t, cmd)
		if code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%s Go: exit %d, want 1 saying %q:\n%s", name, code, c.want, out)
		}
	}
}
