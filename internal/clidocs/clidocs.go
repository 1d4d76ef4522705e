// Package clidocs generates a program's manual pages and shell completion
// scripts from its cobra command tree, so that they can never drift from
// the flags and help texts the program really has. Each program registers
// the hidden command from Command; the package build runs it with a
// build-machine binary (the pages do not depend on the target's
// architecture).
package clidocs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/chatd/chatd/internal/version"
)

// CommandName is the hidden command's name; it is not meant for users.
const CommandName = "__gen-docs"

// Layout under the output directory, mirroring where Debian installs
// each kind of file below /usr/share.
const (
	ManDir  = "man"              // man/manSECTION/NAME.SECTION.gz
	BashDir = "completions/bash" // bash-completion/completions/NAME
	ZshDir  = "completions/zsh"  // zsh/vendor-completions/_NAME
	FishDir = "completions/fish" // fish/vendor_completions.d/NAME.fish
)

// Command returns the hidden `__gen-docs DIR` command, which writes the
// root command's manual pages (in section) and its bash, zsh and fish
// completion scripts below DIR. The pages' date is $SOURCE_DATE_EPOCH when
// set (reproducible builds), else now.
func Command(section string) *cobra.Command {
	return &cobra.Command{
		Use:    CommandName + " DIR",
		Short:  "Write the manual pages and shell completions below DIR (for packaging)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			date, err := sourceDate(os.Getenv("SOURCE_DATE_EPOCH"))
			if err != nil {
				return err
			}
			return Generate(cmd.Root(), section, date, args[0])
		},
	}
}

// Generate writes root's documentation below dir.
func Generate(root *cobra.Command, section string, date time.Time, dir string) error {
	name := root.Name()
	// The pages must not change with the day they were built on; the
	// date in their header is the source's.
	root.DisableAutoGenTag = true

	manDir := filepath.Join(dir, ManDir, "man"+section)
	tmp, err := os.MkdirTemp("", "clidocs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	header := &doc.GenManHeader{
		Section: section,
		Date:    &date,
		Source:  name + " " + version.String(),
		Manual:  "chatd manual",
	}
	if err := doc.GenManTree(root, header, tmp); err != nil {
		return fmt.Errorf("man pages of %s: %w", name, err)
	}
	if err := os.MkdirAll(manDir, 0o755); err != nil {
		return err
	}
	pages, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, p := range pages {
		raw, err := os.ReadFile(filepath.Join(tmp, p.Name()))
		if err != nil {
			return err
		}
		if err := writeGzip(filepath.Join(manDir, p.Name()+".gz"), raw); err != nil {
			return err
		}
	}

	var bash, zsh, fish bytes.Buffer
	if err := root.GenBashCompletionV2(&bash, true); err != nil {
		return fmt.Errorf("bash completion of %s: %w", name, err)
	}
	if err := root.GenZshCompletion(&zsh); err != nil {
		return fmt.Errorf("zsh completion of %s: %w", name, err)
	}
	if err := root.GenFishCompletion(&fish, true); err != nil {
		return fmt.Errorf("fish completion of %s: %w", name, err)
	}
	for path, b := range map[string][]byte{
		filepath.Join(dir, BashDir, name):         bash.Bytes(),
		filepath.Join(dir, ZshDir, "_"+name):      zsh.Bytes(),
		filepath.Join(dir, FishDir, name+".fish"): fish.Bytes(),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeGzip compresses b the way Debian wants manual pages: best
// compression, no name and no time stamp in the header.
func writeGzip(path string, b []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// sourceDate parses $SOURCE_DATE_EPOCH (seconds since 1970); empty is now.
func sourceDate(epoch string) (time.Time, error) {
	if epoch == "" {
		return time.Now().UTC(), nil
	}
	s, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", epoch)
	}
	return time.Unix(s, 0).UTC(), nil
}
