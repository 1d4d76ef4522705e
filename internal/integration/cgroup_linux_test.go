package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cgroupSet is a cgroup named after the sandbox, made in every cgroup
// hierarchy the test process belongs to, just below the test's own cgroup
// there, for the sandbox to start in. systemd, as the sandbox's PID 1,
// builds its tree below its own cgroup (and, in the other v1 hierarchies,
// below the same path); every directory named after the sandbox, wherever
// systemd put it, is removed at the end.
type cgroupSet struct {
	name   string
	mounts []string
	procs  []string // cgroup.procs of the new cgroups
}

func newCgroupSet(name string) (*cgroupSet, error) {
	hs, err := hierarchies()
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy is mounted")
	}
	cs := &cgroupSet{name: name}
	for _, h := range hs {
		cs.mounts = append(cs.mounts, h.mount)
		dir := filepath.Join(h.mount, h.path, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			cs.remove(time.Second)
			return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		if err := inheritCpuset(dir); err != nil {
			cs.remove(time.Second)
			return nil, err
		}
		cs.procs = append(cs.procs, filepath.Join(dir, "cgroup.procs"))
	}
	return cs, nil
}

// dirs lists every cgroup directory named after the sandbox.
func (cs *cgroupSet) dirs() []string {
	var out []string
	for _, m := range cs.mounts {
		filepath.WalkDir(m, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if d.Name() == cs.name {
				out = append(out, p)
				return filepath.SkipDir
			}
			if rel, _ := filepath.Rel(m, p); strings.Count(rel, "/") >= 5 {
				return filepath.SkipDir
			}
			return nil
		})
	}
	return out
}

// hierarchy is a mounted cgroup hierarchy and the test's path in it.
type hierarchy struct {
	mount string
	path  string
}

// hierarchies lists the cgroup hierarchies of this process with their
// mount points.
func hierarchies() ([]hierarchy, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []hierarchy
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		for _, m := range mounts {
			if m.matches(ctrls) {
				out = append(out, hierarchy{mount: m.point, path: path})
				break
			}
		}
	}
	return out, sc.Err()
}

type cgroupMount struct {
	point string
	v2    bool
	opts  []string
}

// matches reports whether the mount is the hierarchy /proc/self/cgroup
// names by ctrls ("" for v2, "cpu,cpuacct", "name=systemd", …).
func (m cgroupMount) matches(ctrls string) bool {
	if ctrls == "" {
		return m.v2
	}
	if m.v2 {
		return false
	}
	for _, c := range strings.Split(ctrls, ",") {
		if !slices.Contains(m.opts, c) {
			return false
		}
	}
	return true
}

func cgroupMounts() ([]cgroupMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupMount
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root point opts [optional…] - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, sf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(sf) < 3 || pf[3] != "/" {
			continue
		}
		switch sf[0] {
		case "cgroup", "cgroup2":
			key := sf[0] + " " + sf[2]
			if seen[key] { // the same hierarchy mounted twice
				continue
			}
			seen[key] = true
			out = append(out, cgroupMount{point: pf[4], v2: sf[0] == "cgroup2", opts: strings.Split(sf[2], ",")})
		}
	}
	return out, sc.Err()
}

// kill SIGKILLs every process left in the sandbox's cgroups.
func (cs *cgroupSet) kill() {
	for _, dir := range cs.dirs() {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
					killPid(pid)
				}
			}
			return nil
		})
	}
}

// remove deletes the sandbox's cgroups (children first) once they are
// empty, which may take a moment after their processes died.
func (cs *cgroupSet) remove(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cs.removeOnce()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (cs *cgroupSet) removeOnce() error {
	var firstErr error
	for _, dir := range cs.dirs() {
		var sub []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				sub = append(sub, p)
			}
			return nil
		})
		slices.Reverse(sub) // children before parents
		for _, d := range sub {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// inheritCpuset gives a new v1 cpuset cgroup its parent's CPUs and memory
// nodes: without them no process may join it.
func inheritCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || strings.TrimSpace(string(cur)) != "" {
			continue // not a cpuset hierarchy, or already set
		}
		parent, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), parent, 0o644); err != nil {
			return fmt.Errorf("cgroup %s: set %s: %w", dir, f, err)
		}
	}
	return nil
}
