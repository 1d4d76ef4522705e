package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/chatd/chatd/internal/version"
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

// readSource asks git about the checkout, by the rule every stamped build
// of chatd follows (version.Derive), so that the package's binaries print
// what make build and install.sh would for the same commit.
func readSource(root string) (source, error) {
	g, err := version.FromGit(root)
	if err != nil {
		return source{}, err
	}
	return source{Version: g.Version, Commit: g.Commit, Time: g.Time}, nil
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
