package version

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Git is what a checkout says about the commit being built.
type Git struct {
	// Version is the version of the commit by the rule of Derive.
	Version string
	// Commit is the full commit hash; Time its commit time (the packages
	// date every file with it, for reproducible builds).
	Commit string
	Time   time.Time
}

// FromGit asks git about the checkout at dir. Every build that stamps a
// version (make build, install.sh, the packages) stamps this one, so
// `chatd version` prints the same for the same commit however it was
// built and installed.
func FromGit(dir string) (Git, error) {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	commit, err := git("rev-parse", "HEAD")
	if err != nil {
		return Git{}, err
	}
	ct, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return Git{}, err
	}
	secs, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return Git{}, fmt.Errorf("commit time %q: %w", ct, err)
	}
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return Git{}, err
	}
	// The hash as git abbreviates it here (core.abbrev), as in
	// describe's own "-g422cbac".
	short, err := git("rev-parse", "--short", "HEAD")
	if err != nil {
		return Git{}, err
	}
	describe, _ := git("describe", "--tags", "--match", "v[0-9]*", "HEAD") // no tag yet: fine
	g := Git{Commit: commit, Time: time.Unix(secs, 0).UTC()}
	g.Version = Derive(describe, short, g.Time, status != "")
	return g, nil
}

var describeForm = regexp.MustCompile(`^v([0-9][0-9A-Za-z.]*)(?:-([A-Za-z][0-9A-Za-z.]*))?(?:-([0-9]+)-g([0-9a-f]+))?$`)

// Derive is the one rule for chatd's version, from git's view of the
// commit. The Debian and RPM packages need a version that sorts the way
// dpkg and rpm compare versions, so that every later commit upgrades an
// earlier one; every other build uses the same rule, so that a version
// names one commit the same way everywhere:
//
//	tag v1.2.0 on the commit         1.2.0
//	3 commits after v1.2.0           1.2.0+3.g422cbac
//	tag v1.3.0-rc1 (a pre-release)   1.3.0~rc1
//	no tag yet                       0.0.0~git20261201211200.422cbac
//
// and ".dirty" after any of them for uncommitted changes to tracked files.
// describe is `git describe --tags --match 'v[0-9]*'` ("" when there is no
// tag), short the commit's abbreviated hash, when its time.
func Derive(describe, short string, when time.Time, dirty bool) string {
	var v string
	if m := describeForm.FindStringSubmatch(describe); m != nil {
		v = m[1]
		if m[2] != "" {
			v += "~" + m[2]
		}
		if m[3] != "" {
			v += "+" + m[3] + ".g" + m[4]
		}
	} else {
		v = "0.0.0~git" + when.UTC().Format("20060102150405") + "." + short
	}
	if dirty {
		v += ".dirty"
	}
	return v
}
