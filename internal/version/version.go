// Package version holds the build's version string, stamped at link time
// by install.sh (-ldflags "-X github.com/chatd/chatd/internal/version.Version=…").
package version

import "runtime/debug"

// Version is set at link time; otherwise it is derived from the build info.
var Version = ""

// String returns the version: the stamped one, else the module version or
// VCS revision Go recorded, else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// Line is what `PROGRAM version` and `PROGRAM --version` print, the same
// for chatd, chatctl and chat: the program's name and String.
func Line(program string) string { return program + " " + String() }
