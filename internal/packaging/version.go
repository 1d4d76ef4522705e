package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// source is what the checkout says about the build.
type source struct {
	// Version is the upstream version: stamped into the binaries (what
	// `chatd version` prints) and the package version before "-1".
	Version string
	// Commit is the full commit hash; Time its commit time, used for
	// every date in the package (reproducible builds).
	Commit string
	Time   time.Time
}

// readSource asks git about the checkout.
func readSource(root string) (source, error) {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
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
		return source{}, err
	}
	ct, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return source{}, err
	}
	secs, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return source{}, fmt.Errorf("commit time %q: %w", ct, err)
	}
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return source{}, err
	}
	describe, _ := git("describe", "--tags", "--match", "v[0-9]*", "HEAD") // no tag yet: fine
	s := source{Commit: commit, Time: time.Unix(secs, 0).UTC()}
	s.Version = deriveVersion(describe, commit, s.Time, status != "")
	return s, nil
}

var describeForm = regexp.MustCompile(`^v([0-9][0-9A-Za-z.]*)(?:-([A-Za-z][0-9A-Za-z.]*))?(?:-([0-9]+)-g([0-9a-f]+))?$`)

// deriveVersion turns git's view of the commit into a version that sorts
// the way Debian and RPM compare versions, so every later commit upgrades
// an earlier one:
//
//	tag v1.2.0 on the commit         1.2.0
//	3 commits after v1.2.0           1.2.0+3.g422cbac
//	tag v1.3.0-rc1 (a pre-release)   1.3.0~rc1
//	no tag yet                       0.0.0~git20261201211200.422cbac
//
// and ".dirty" after any of them for uncommitted changes to tracked files.
func deriveVersion(describe, commit string, when time.Time, dirty bool) string {
	short := commit
	if len(short) > 7 {
		short = short[:7]
	}
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

var versionForm = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)

// checkVersion accepts versions valid for both dpkg and rpm as the
// upstream part: a digit first, then letters, digits and . + ~ (no "-",
// which starts the package revision, and no ":" epoch).
func checkVersion(v string) error {
	if !versionForm.MatchString(v) {
		return fmt.Errorf("version %q: must start with a digit and hold only letters, digits and . + ~", v)
	}
	return nil
}
