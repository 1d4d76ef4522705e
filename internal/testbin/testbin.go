// Package testbin builds the real chatd, chatctl and chat binaries once per
// test process and runs chatd as a child process on a free loopback port,
// for end-to-end tests. It is imported only by tests.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

var binDir string

// build is one binary tests can run. Packages are relative to the module
// root. Under `go test -race` the binaries are race-enabled too, so
// end-to-end runs check the daemon for races; memory and load tests use
// chatd-release, the build users run, whose figures the race detector
// would distort.
type build struct {
	name, pkg, tags string
	release         bool
}

var builds = []build{
	{name: "chatd", pkg: "./daemon"},
	{name: "chatd-release", pkg: "./daemon", release: true},
	{name: "chatd-faultinject", pkg: "./daemon", tags: "faultinject"},
	{name: "chatctl", pkg: "./ctl"},
	{name: "chat", pkg: "./client"},
}

// Main builds the binaries, runs the tests and removes the binaries. Use it
// from TestMain: os.Exit(testbin.Main(m)). A package that runs only some
// of them names those (testbin.Main(m, "chatd", "chatctl")) and does not
// wait for the others to link.
func Main(m *testing.M, only ...string) int {
	for _, name := range only {
		if !slices.ContainsFunc(builds, func(b build) bool { return b.name == name }) {
			fmt.Fprintf(os.Stderr, "testbin: no binary %q\n", name)
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "chatd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbin:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildAll(moduleRoot(), dir, only); err != nil {
		fmt.Fprintln(os.Stderr, "testbin:", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// buildAll builds the wanted binaries into dir: one go build per set of
// build flags, so that the packages they share are compiled once, and the
// sets at the same time.
func buildAll(root, dir string, only []string) error {
	type group struct {
		args []string
		bs   []build
	}
	var groups []*group
	for _, b := range builds {
		if len(only) > 0 && !slices.Contains(only, b.name) {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, b.pkg, "main.go")); err != nil {
			continue // not written yet
		}
		var args []string
		if raceEnabled && !b.release {
			args = append(args, "-race")
		}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		i := slices.IndexFunc(groups, func(g *group) bool {
			return slices.Equal(g.args, args) && !slices.ContainsFunc(g.bs, func(o build) bool { return o.pkg == b.pkg })
		})
		if i < 0 {
			groups = append(groups, &group{args: args})
			i = len(groups) - 1
		}
		groups[i].bs = append(groups[i].bs, b)
	}
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for gi, g := range groups {
		wg.Go(func() {
			// go build -o DIR/ names each binary after its package's
			// directory; each group gets its own DIR, then the binaries
			// are renamed.
			out := filepath.Join(dir, fmt.Sprintf("group-%d", gi))
			args := append([]string{"build", "-o", out + string(filepath.Separator)}, g.args...)
			for _, b := range g.bs {
				args = append(args, b.pkg)
			}
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[gi] = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
				return
			}
			for _, b := range g.bs {
				if err := os.Rename(filepath.Join(out, filepath.Base(b.pkg)), filepath.Join(dir, b.name)); err != nil {
					errs[gi] = err
					return
				}
			}
			os.Remove(out)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Path returns the built binary's path.
func Path(t testing.TB, name string) string {
	t.Helper()
	if binDir == "" {
		t.Fatal("testbin: binaries not built; call testbin.Main from TestMain")
	}
	p := filepath.Join(binDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testbin: %s was not built (is it in this package's testbin.Main list?): %v", name, err)
	}
	return p
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
