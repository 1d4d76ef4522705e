package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the programs a comparison runs.
type Binaries struct {
	Chatd, Baseline, Chatbench string
	// Chatctl is empty when there is none; ChatctlNote then says why.
	Chatctl, ChatctlNote string
}

// Roots are the two modules a comparison builds from.
type Roots struct {
	Chatd string // the product module: ./daemon, ./ctl
	Bench string // this module: ./baseline, ./chatbench
}

// BuildAll builds chatd (with the given extra build tags), the baseline,
// chatbench and, if the product has ctl/main.go, chatctl into dir.
func BuildAll(ctx context.Context, goTool string, roots Roots, dir, tags string) (Binaries, error) {
	b := Binaries{
		Chatd:     filepath.Join(dir, "chatd"),
		Baseline:  filepath.Join(dir, "baseline"),
		Chatbench: filepath.Join(dir, "chatbench"),
	}
	var extra []string
	if tags != "" {
		extra = []string{"-tags", tags}
	}
	for _, t := range []struct {
		out, root, pkg string
		args           []string
	}{
		{b.Chatd, roots.Chatd, "./daemon", extra},
		{b.Baseline, roots.Bench, "./baseline", nil},
		{b.Chatbench, roots.Bench, "./chatbench", nil},
	} {
		if err := goBuild(ctx, goTool, t.root, t.out, t.pkg, t.args); err != nil {
			return b, err
		}
	}
	if _, err := os.Stat(filepath.Join(roots.Chatd, "ctl", "main.go")); err != nil {
		b.ChatctlNote = "n/a (chatctl not built)"
		return b, nil
	}
	out := filepath.Join(dir, "chatctl")
	if err := goBuild(ctx, goTool, roots.Chatd, out, "./ctl", nil); err != nil {
		if ctx.Err() != nil {
			return b, err
		}
		b.ChatctlNote = "n/a (chatctl does not build)"
		return b, nil
	}
	b.Chatctl = out
	return b, nil
}

func goBuild(ctx context.Context, goTool, root, out, pkg string, extra []string) error {
	args := append([]string{"build", "-o", out}, extra...)
	cmd := exec.CommandContext(ctx, goTool, append(args, pkg)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// benchModule and chatdModule are the module paths of bench/ and of the
// product it measures (bench/go.mod replaces the latter with ../).
const (
	benchModule = "github.com/chatd/chatd/bench"
	chatdModule = "github.com/chatd/chatd"
)

// FindRoots asks the go tool, from the current directory, where the bench
// module and the chatd module it uses are.
func FindRoots(ctx context.Context, goTool string) (Roots, error) {
	out, err := exec.CommandContext(ctx, goTool, "list", "-m", "-f", "{{.Path}} {{.Dir}}", benchModule, chatdModule).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return Roots{}, fmt.Errorf("go list -m %s %s (run from the bench directory): %w", benchModule, chatdModule, err)
	}
	var r Roots
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, _ := strings.Cut(line, " ")
		switch path {
		case benchModule:
			r.Bench = dir
		case chatdModule:
			r.Chatd = dir
		}
	}
	if r.Bench == "" || r.Chatd == "" {
		return Roots{}, fmt.Errorf("go list -m did not name both modules: %q", out)
	}
	return r, nil
}

// GoTool finds the go command.
func GoTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the go command is not on PATH")
}
