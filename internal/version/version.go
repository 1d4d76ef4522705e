// Package version holds the build's version string, stamped at link time
// (-ldflags "-X github.com/chatd/chatd/internal/version.Version=…") by
// make build, install.sh and the packager, all with what FromGit says: one
// rule (Derive) for every build, the packages' included.
package version

import (
	"runtime/debug"
	"time"
)

// Version is set at link time; otherwise it is derived from the build info.
var Version = ""

// String returns the version: the stamped one; else, by the same rule,
// what Go recorded of the checkout (a plain go build knows the tag only
// on the tagged commit itself, and cannot count commits since one); else
// "dev".
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	var rev string
	var when time.Time
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when, _ = time.Parse(time.RFC3339, s.Value)
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	// A tagged commit: Go's version is the tag itself. Anything else it
	// records (a pseudo-version) does not fit the rule, the commit does.
	if v := bi.Main.Version; describeForm.MatchString(v) {
		return Derive(v, "", when, dirty)
	}
	if rev == "" {
		return "dev"
	}
	return Derive("", rev[:min(len(rev), 7)], when, dirty)
}

// Line is what `PROGRAM version` and `PROGRAM --version` print, the same
// for chatd, chatctl and chat: the program's name and String.
func Line(program string) string { return program + " " + String() }
