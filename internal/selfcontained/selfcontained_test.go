// Package selfcontained holds one test: that nothing in the repository
// points outside it. A comment, a doc or a test that leans on a file only
// its author's machine has (notes beside the checkout, a work directory)
// tells the next reader nothing; the fact belongs in the repository's own
// docs.
package selfcontained

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// outside matches what only makes sense outside the repository. The
// classes ([s], [k], [t]) keep this file from matching itself.
var outside = regexp.MustCompile(`(?i)\.\./shared\b|shared/note[s]|/wor[k]/|assignmen[t]`)

func TestNothingPointsOutsideTheRepository(t *testing.T) {
	root := moduleRoot(t)
	files := trackedFiles(t, root)
	if len(files) < 50 {
		t.Fatalf("found only %d files under %s; is this the checkout?", len(files), root)
	}
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue // binary: a fuzz corpus entry, an image
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d refers to something outside the repository (%q): %s", name, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}

// trackedFiles lists the repository's files: git's list where git knows
// the checkout, else every file under root but .git.
func trackedFiles(t *testing.T, root string) []string {
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func moduleRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find this test's own file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
