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
	"testing"
)

var binDir string

// builds are the binaries tests can run. Packages are relative to the
// module root. Under `go test -race` the binaries are race-enabled too, so
// end-to-end runs check the daemon for races; memory and load tests use
// chatd-release, the build users run, whose figures the race detector
// would distort.
var builds = []struct {
	name, pkg, tags string
	release         bool
}{
	{name: "chatd", pkg: "./daemon"},
	{name: "chatd-release", pkg: "./daemon", release: true},
	{name: "chatd-faultinject", pkg: "./daemon", tags: "faultinject"},
	{name: "chatctl", pkg: "./ctl"},
	{name: "chat", pkg: "./client"},
}

// Main builds the binaries, runs the tests and removes the binaries. Use it
// from TestMain: os.Exit(testbin.Main(m)).
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chatd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbin:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root := moduleRoot()
	for _, b := range builds {
		if _, err := os.Stat(filepath.Join(root, b.pkg, "main.go")); err != nil {
			continue // not written yet
		}
		args := []string{"build", "-o", filepath.Join(dir, b.name)}
		if raceEnabled && !b.release {
			args = append(args, "-race")
		}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "testbin: go build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// Path returns the built binary's path.
func Path(t testing.TB, name string) string {
	t.Helper()
	if binDir == "" {
		t.Fatal("testbin: binaries not built; call testbin.Main from TestMain")
	}
	p := filepath.Join(binDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testbin: %s was not built: %v", name, err)
	}
	return p
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
