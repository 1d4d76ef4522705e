package compare

import (
	"bytes"
	"context"
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

// BuildAll builds chatd (with the given extra build tags), the baseline,
// chatbench and, if the module has ctl/main.go, chatctl into dir, from the
// module rooted at root.
func BuildAll(ctx context.Context, goTool, root, dir, tags string) (Binaries, error) {
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
		out, pkg string
		args     []string
	}{
		{b.Chatd, "./daemon", extra},
		{b.Baseline, "./bench/baseline", nil},
		{b.Chatbench, "./bench/chatbench", nil},
	} {
		if err := goBuild(ctx, goTool, root, t.out, t.pkg, t.args); err != nil {
			return b, err
		}
	}
	if _, err := os.Stat(filepath.Join(root, "ctl", "main.go")); err != nil {
		b.ChatctlNote = "n/a (chatctl not built)"
		return b, nil
	}
	out := filepath.Join(dir, "chatctl")
	if err := goBuild(ctx, goTool, root, out, "./ctl", nil); err != nil {
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

// ModuleRoot is the directory of the main module's go.mod, as the go tool
// sees it from the current directory.
func ModuleRoot(ctx context.Context, goTool string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the chatd module (go env GOMOD is empty): run from the repository")
	}
	return filepath.Dir(mod), nil
}

// GoTool finds the go command.
func GoTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the go command is not on PATH")
}
