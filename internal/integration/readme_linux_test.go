package integration

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/version"
)

// readmeBlocks returns the README's code blocks that follow a
// "<!-- readme-test: NAME -->" line, by NAME.
func readmeBlocks(t *testing.T, root string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks := map[string]string{}
	name, in := "", false
	var body strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case in && l == "```":
			blocks[name] = body.String()
			name, in = "", false
			body.Reset()
		case in:
			body.WriteString(l + "\n")
		case name != "" && strings.HasPrefix(l, "```"):
			// Any language: a marked block that is not shell (the
			// HAProxy lines other tests read) must not lend its name
			// to the next shell block.
			in = true
		case strings.HasPrefix(l, "<!-- readme-test: ") && strings.HasSuffix(l, " -->"):
			name = strings.TrimSuffix(strings.TrimPrefix(l, "<!-- readme-test: "), " -->")
		}
	}
	for _, want := range []string{"run", "talk", "tests", "binaries", "packages", "second-instance", "package-command"} {
		if _, ok := blocks[want]; !ok {
			t.Fatalf("README has no code block marked readme-test: %s", want)
		}
	}
	return blocks
}

// commandOf is a block's line without its trailing comment.
func commandOf(line string) string {
	if i := strings.Index(line, "  #"); i >= 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// The commands the README's first screen gives are the ones CI and the
// Makefile run.
func TestReadmeCommandsAreTheOnesCIRuns(t *testing.T) {
	root := moduleRoot(t)
	b := readmeBlocks(t, root)
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	tests := commandOf(b["tests"])
	if tests != "go test -race -count=1 ./..." || !strings.Contains(string(ci), "\n"+tests+"\n") {
		t.Errorf("the README's test command %q is not the one .ci/run runs", tests)
	}
	if got := commandOf(b["run"]); got != "go run ./daemon run" {
		t.Errorf("run block = %q", got)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []string{"binaries", "packages"} {
		for _, l := range strings.Split(strings.TrimSpace(b[block]), "\n") {
			if c := commandOf(l); strings.HasPrefix(c, "make ") {
				target := strings.TrimPrefix(c, "make ")
				if !strings.Contains(string(makefile), "\n"+target+":\n") {
					t.Errorf("README runs %q, but the Makefile has no target %s", c, target)
				}
			}
		}
	}
	pkg := commandOf(b["package-command"])
	if pkg != "go -C internal/packaging run ." || !strings.Contains(string(makefile), "\t$(GO) -C internal/packaging run .\n") {
		t.Errorf("the package command %q is not what make packages runs", pkg)
	}
}

// The README's "make build" gives the three programs their real names,
// version stamped, and its second-instance recipe runs beside a first
// chatd (in a container: the first one uses root's default paths).
func TestReadmeBinariesAndSecondInstance(t *testing.T) {
	root := requireSandbox(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	b := readmeBlocks(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// The block as written, with the output directory moved out of the
	// checkout so the test leaves it as it was.
	bin := filepath.Join(t.TempDir(), "bin")
	build := exec.CommandContext(ctx, "bash", "-euc", b["binaries"])
	build.Dir = root
	build.Env = append(os.Environ(), "BIN="+bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the README's binaries block: %v\n%s", err, out)
	}
	// make build stamps the one version rule, as install.sh and the packages do.
	g, err := version.FromGit(root)
	if err != nil {
		t.Fatal(err)
	}
	want := g.Version + "\n"
	for _, name := range []string{"chatd", "chatctl", "chat"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Fatalf("make build made no %s: %v", name, err)
		}
	}
	if v, err := exec.Command(filepath.Join(bin, "chatd"), "version").Output(); err != nil || string(v) != "chatd "+want {
		t.Errorf("bin/chatd version = %q, %v; want chatd %s", v, err, want)
	}

	lines := strings.Split(strings.TrimSpace(b["second-instance"]), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], " &") {
		t.Fatalf("the second-instance block changed shape (start in the background, then two commands):\n%s", b["second-instance"])
	}
	script := `
wait_for() { for i in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; "$@"; }
chatd run >/tmp/first.log 2>&1 &
wait_for chatctl status
echo "== recipe"
` + lines[0] + `
wait_for chatctl --socket /tmp/chatd-2/admin.sock status
` + lines[1] + `
` + lines[2] + `
echo "== first"
printf 'first\n' | chat
chatctl status
`
	env := []string{"PATH=" + bin + ":/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}
	out, err := runInContainer(t, ctx, 2*time.Minute, overlayDirs("/etc", "/var", "/tmp", "/root"), env, script)
	t.Logf("in the container:\n%s", out)
	if err != nil {
		t.Fatalf("the recipe failed: %v", err)
	}
	recipe, first, _ := strings.Cut(out[strings.Index(out, "== recipe"):], "== first")
	for _, w := range []string{"127.0.0.1:5606", "SECOND\n"} {
		if !strings.Contains(recipe, w) {
			t.Errorf("the second instance's output lacks %q", w)
		}
	}
	for _, w := range []string{"127.0.0.1:5605", "FIRST\n"} {
		if !strings.Contains(first, w) {
			t.Errorf("the first instance's output lacks %q", w)
		}
	}
}
