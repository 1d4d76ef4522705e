package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The maintainer scripts are POSIX sh, shellcheck clean.
func TestScriptsAreShellcheckClean(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed (.ci/run installs it)")
	}
	files, _ := filepath.Glob("scripts/*/*")
	if len(files) == 0 {
		t.Fatal("no maintainer scripts found")
	}
	args := append([]string{"--shell=sh", "--severity=style"}, files...)
	if out, err := exec.Command(sc, args...).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// prerm and postrm each carry running_chatd (postrm runs when prerm and
// the binaries are gone, so it cannot be shared): the two copies must not
// drift apart.
func TestRunningChatdIsTheSameInPrermAndPostrm(t *testing.T) {
	fn := func(name string) string {
		b, err := scripts.ReadFile("scripts/deb/" + name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		start := strings.Index(s, "\nrunning_chatd() {\n")
		end := strings.Index(s[max(start, 0):], "\n}\n")
		if start < 0 || end < 0 {
			t.Fatalf("%s has no running_chatd function", name)
		}
		return s[start : start+end]
	}
	if a, b := fn("prerm"), fn("postrm"); a != b {
		t.Errorf("running_chatd differs:\nprerm:%s\npostrm:%s", a, b)
	}
}

// Purge keeps the chatd account whoever made it, so no script removes an
// account, and install goes through adduser --system, which refuses to
// take over a person's account.
func TestScriptsNeverRemoveAnAccount(t *testing.T) {
	for _, name := range []string{"deb/postinst", "deb/prerm", "deb/postrm", "rpm/post", "rpm/preun", "rpm/postun"} {
		b, err := scripts.ReadFile("scripts/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "#")
			for _, cmd := range []string{"userdel", "groupdel", "deluser", "delgroup"} {
				if strings.HasPrefix(strings.TrimSpace(code), cmd+" ") {
					t.Errorf("%s runs %s: %q", name, cmd, line)
				}
			}
		}
	}
}
