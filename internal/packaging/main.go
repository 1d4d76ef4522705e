// Command packaging builds chatd's Debian and RPM packages from this
// checkout for linux/amd64 and linux/arm64, with nfpm as a library:
//
//	go -C internal/packaging run .
//
// writes dist/chatd_VERSION-1_ARCH.deb and dist/chatd-VERSION-1.ARCH.rpm
// at the top of the checkout. It lives in a module of its own so that
// nfpm's many dependencies stay out of chatd's go.mod; the binaries it
// packages are built in the checkout's own module, with chatd's go.mod.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(args []string) error {
	fs := flag.NewFlagSet("packaging", flag.ContinueOnError)
	out := fs.String("out", "", "directory for the packages (default: dist/ at the top of the checkout)")
	arches := fs.String("arch", "amd64,arm64", "comma-separated GOARCH values to package")
	formats := fs.String("format", "deb,rpm", "comma-separated package formats: deb, rpm")
	version := fs.String("version", "", "upstream version (default: from git, as `chatd version` will print it)")
	maintainer := fs.String("maintainer", defaultMaintainer, "package maintainer, NAME <EMAIL>")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	root, err := findCheckout()
	if err != nil {
		return err
	}
	src, err := readSource(root)
	if err != nil {
		return err
	}
	if *version != "" {
		if err := checkVersion(*version); err != nil {
			return usageError{err}
		}
		src.Version = *version
	}
	if *out == "" {
		*out = filepath.Join(root, "dist")
	}
	p := &plan{
		Source:     src,
		Root:       root,
		Out:        *out,
		Arches:     split(*arches),
		Formats:    split(*formats),
		Maintainer: *maintainer,
	}
	if err := p.check(); err != nil {
		return usageError{err}
	}
	files, err := p.build()
	for _, f := range files {
		fmt.Println(f)
	}
	return err
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// findCheckout walks up from the working directory to chatd's go.mod.
func findCheckout() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			strings.HasPrefix(string(b), "module "+productModule+"\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside a chatd checkout (no go.mod for %s above it)", dir, productModule)
		}
	}
}
