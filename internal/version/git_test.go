package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestDerive(t *testing.T) {
	when := time.Date(2026, 12, 1, 21, 12, 0, 0, time.UTC)
	const short = "422cbac"
	for _, c := range []struct {
		describe string
		dirty    bool
		want     string
	}{
		{"v1.2.0", false, "1.2.0"},
		{"v1.2.0-3-g422cbac", false, "1.2.0+3.g422cbac"},
		{"v1.3.0-rc1", false, "1.3.0~rc1"},
		{"v1.3.0-rc1-2-gabcdef0", false, "1.3.0~rc1+2.gabcdef0"},
		{"", false, "0.0.0~git20261201211200.422cbac"},
		{"", true, "0.0.0~git20261201211200.422cbac.dirty"},
		{"v2.0.0", true, "2.0.0.dirty"},
		{"release-5", false, "0.0.0~git20261201211200.422cbac"},
	} {
		if got := Derive(c.describe, short, when, c.dirty); got != c.want {
			t.Errorf("Derive(%q, dirty=%v) = %q, want %q", c.describe, c.dirty, got, c.want)
		}
	}
}

// FromGit on a real repository, through the forms of the rule.
func TestFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-12-01T21:12:00Z", "GIT_COMMITTER_DATE=2026-12-01T21:12:00Z",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(content string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "f")
		git("commit", "-q", "-m", content)
		return git("rev-parse", "--short=7", "HEAD")
	}
	want := func(form string) {
		t.Helper()
		g, err := FromGit(dir)
		if err != nil {
			t.Fatal(err)
		}
		if g.Version != form {
			t.Errorf("FromGit = %q, want %q", g.Version, form)
		}
	}
	git("init", "-q")
	first := commit("one")
	want("0.0.0~git20261201211200." + first)
	os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644)
	want("0.0.0~git20261201211200." + first + ".dirty")
	git("checkout", "-q", "f")
	git("tag", "v1.2.0")
	want("1.2.0")
	commit("two")
	third := commit("three")
	want("1.2.0+2.g" + third)
	// The hash is git's abbreviation (core.abbrev), as describe's is.
	git("tag", "-d", "v1.2.0")
	long := git("rev-parse", "--short=12", "HEAD")
	git("config", "core.abbrev", "12")
	want("0.0.0~git20261201211200." + long)
	if _, err := FromGit(t.TempDir()); err == nil {
		t.Error("FromGit outside a checkout did not fail")
	}
}

// A build that was not stamped follows the rule with what Go recorded.
func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, when, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "4cf6e06abcdef0123456789abcdef0123456789a"
	for _, c := range []struct {
		name, main string
		settings   []debug.BuildSetting
		want       string
	}{
		{"untagged", "(devel)", vcs(rev, "2026-12-02T01:48:02Z", "false"), "0.0.0~git20261202014802.4cf6e06"},
		{"untagged, changed", "(devel)", vcs(rev, "2026-12-02T01:48:02Z", "true"), "0.0.0~git20261202014802.4cf6e06.dirty"},
		{"on a tag", "v1.2.0", vcs(rev, "2026-12-02T01:48:02Z", "false"), "1.2.0"},
		{"after a tag", "v1.2.1-0.20261202014802-4cf6e06abcde", vcs(rev, "2026-12-02T01:48:02Z", "false"), "0.0.0~git20261202014802.4cf6e06"},
		{"nothing recorded", "(devel)", nil, "dev"},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Version: c.main}, Settings: c.settings}
		if got := fromBuildInfo(bi); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// make build stamps the rule, as the packages do: the version a user
// reads names the commit the same way however chatd was built. (make
// build passes the same VERSION to the linker; the README's make build
// block runs it.)
func TestMakeStampsTheRule(t *testing.T) {
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal(tool + " not installed")
			}
			t.Skip(tool + " not installed")
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	g, err := FromGit(root)
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	cmd := exec.Command("make", "-s", "-C", root, "version")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VERSION=") { // as a user runs it
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != g.Version {
		t.Errorf("make stamps %q, want the rule's %q", got, g.Version)
	}
}
