package clidocs

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func testTree() *cobra.Command {
	root := &cobra.Command{Use: "demo", Short: "demo does things", Long: "demo does things at length."}
	root.Flags().String("addr", "127.0.0.1:1", "where to connect")
	root.AddCommand(&cobra.Command{Use: "sub", Short: "a subcommand", Run: func(*cobra.Command, []string) {}})
	root.AddCommand(Command("8"))
	return root
}

func TestGenerateThroughTheHiddenCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1764547200") // 2025-12-01
	root := testTree()
	root.SetArgs([]string{CommandName, dir})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"man/man8/demo.8.gz", "man/man8/demo-sub.8.gz",
		"completions/bash/demo", "completions/zsh/_demo", "completions/fish/demo.fish",
	} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("missing %s: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man/man8/demo-"+CommandName+".8.gz")); err == nil {
		t.Errorf("the hidden command got a manual page")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "man/man8/demo.8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	// Debian wants gzip -9n: maximum compression flag, no name, no time.
	if len(raw) < 10 || raw[8] != 2 || !bytes.Equal(raw[4:8], []byte{0, 0, 0, 0}) || raw[3]&0x08 != 0 {
		t.Errorf("gzip header % x: want XFL=2, MTIME=0, no FNAME", raw[:10])
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(zr)
	for _, want := range []string{`.TH "DEMO" "8" "Dec 2025"`, "demo does things at length.", "--addr", "demo-sub(8)"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(string(page), "Auto generated") {
		t.Errorf("page carries a build-time stamp")
	}
	bash, _ := os.ReadFile(filepath.Join(dir, "completions/bash/demo"))
	if !strings.Contains(string(bash), "__start_demo") {
		t.Errorf("bash completion does not look like cobra's:\n%.300s", bash)
	}
}

func TestSourceDate(t *testing.T) {
	if d, err := sourceDate("0"); err != nil || !d.Equal(time.Unix(0, 0)) {
		t.Errorf("0: %v %v", d, err)
	}
	if _, err := sourceDate("yesterday"); err == nil {
		t.Errorf("a non-number was accepted")
	}
	if d, err := sourceDate(""); err != nil || time.Since(d) > time.Minute {
		t.Errorf("empty: %v %v", d, err)
	}
}
