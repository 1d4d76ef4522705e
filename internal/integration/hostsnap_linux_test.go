package integration

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// hostSnapshot records what the sandbox must not change on the host: the
// files an install writes, the account databases, /dev, the cgroup trees,
// the mounts on and below the paths the sandbox mounts over, loaded kernel
// modules and a few global sysctls. A sentinel file in /tmp proves that
// nothing emptied it.
type hostSnapshot map[string]string

var watchedFiles = []string{
	"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
	"/etc/chatd", "/etc/chatd/chatd.yaml", "/etc/systemd/system/chatd.service",
	"/usr/local/bin/chatd", "/usr/local/bin/chatctl", "/usr/local/bin/chat",
	"/var/lib/chatd", "/run/chatd", "/etc/systemd/system",
	"/proc/sys/fs/nr_open", "/proc/sys/fs/file-max", "/proc/sys/kernel/hostname",
	"/proc/sys/kernel/core_pattern",
}

func takeSnapshot(sentinel string, mounted []string) hostSnapshot {
	s := hostSnapshot{}
	for _, f := range append(slices.Clone(watchedFiles), sentinel) {
		s["file "+f] = describe(f)
	}
	s["dir /dev"] = listDir("/dev")
	s["mounts"] = mountPoints(append([]string{"/run", "/dev", "/proc/sys/fs/binfmt_misc"}, mounted...))
	s["modules"] = moduleNames()
	if ms, err := cgroupMounts(); err == nil {
		for _, m := range ms {
			s["cgroups "+m.point] = cgroupTree(m.point)
		}
	}
	return s
}

// diff lists what changed between two snapshots.
func (s hostSnapshot) diff(after hostSnapshot) []string {
	var out []string
	for k, v := range s {
		if after[k] != v {
			out = append(out, fmt.Sprintf("%s:\n  before: %s\n  after:  %s", k, v, after[k]))
		}
	}
	slices.Sort(out)
	return out
}

// describe is a file's type, mode and content hash, a directory's
// entries, or "absent".
func describe(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return "absent"
	}
	switch {
	case fi.IsDir():
		return fmt.Sprintf("dir %v [%s]", fi.Mode(), listDir(path))
	case fi.Mode()&os.ModeSymlink != 0:
		dst, _ := os.Readlink(path)
		return "symlink -> " + dst
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("file %v unreadable", fi.Mode())
	}
	return fmt.Sprintf("file %v %x", fi.Mode(), sha256.Sum256(b))
}

func listDir(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "unreadable"
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// mountPoints lists the host's mounts on or below any of dirs (mounts
// elsewhere may come and go with other work on the host).
func mountPoints(dirs []string) string {
	ms, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "unreadable"
	}
	var points []string
	for _, l := range strings.Split(string(ms), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		if otherTestsMount(f[4]) {
			continue
		}
		for _, d := range dirs {
			if f[4] == d || strings.HasPrefix(f[4], d+"/") {
				points = append(points, f[4])
				break
			}
		}
	}
	slices.Sort(points)
	return strings.Join(points, " ")
}

// otherTestsMount reports a mount another package's test makes on the
// host while it runs: go test runs packages side by side, and ctl's
// state-directory test mounts a small tmpfs at $TMPDIR/chatd-state-*
// (ctl/e2e_ids_test.go). It comes and goes with that test, not with a
// sandbox.
func otherTestsMount(point string) bool {
	dir, name := filepath.Split(point)
	return filepath.Clean(dir) == filepath.Clean(os.TempDir()) && strings.HasPrefix(name, "chatd-state-")
}

func moduleNames() string {
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		return "unreadable"
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// cgroupTree lists the top-level cgroups. Sandboxes' own cgroups are left
// out (another test process may be running one); the sandbox checks that
// its own are gone.
func cgroupTree(root string) string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "unreadable"
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "chatd-sandbox.") {
			dirs = append(dirs, e.Name())
		}
	}
	return strings.Join(dirs, " ")
}
