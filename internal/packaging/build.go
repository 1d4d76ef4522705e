package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

const productModule = "github.com/chatd/chatd"

// binaries are the packaged programs and their main packages.
var binaries = []struct{ name, pkg string }{
	{"chatd", "./daemon"},
	{"chatctl", "./ctl"},
	{"chat", "./client"},
}

// plan is one run of the packager.
type plan struct {
	Source     source
	Root       string // the checkout
	Out        string
	Arches     []string
	Formats    []string
	Maintainer string

	stage string // scratch: builds, generated files
}

func (p *plan) check() error {
	for _, a := range p.Arches {
		if !slices.Contains([]string{"amd64", "arm64"}, a) {
			return fmt.Errorf("arch %q: chatd is packaged for amd64 and arm64", a)
		}
	}
	for _, f := range p.Formats {
		if !slices.Contains([]string{"deb", "rpm"}, f) {
			return fmt.Errorf("format %q: deb or rpm", f)
		}
	}
	if len(p.Arches) == 0 || len(p.Formats) == 0 {
		return fmt.Errorf("nothing to build: give at least one -arch and one -format")
	}
	return nil
}

// build makes every package and returns their paths.
func (p *plan) build() ([]string, error) {
	var err error
	if p.stage, err = os.MkdirTemp("", "chatd-packaging-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(p.stage)

	// Manual pages, completions and the config check come from binaries
	// for this machine: the target's may not run here.
	host := filepath.Join(p.stage, "host")
	if err := p.goBuild(runtime.GOARCH, host); err != nil {
		return nil, err
	}
	docs := filepath.Join(p.stage, "docs")
	for _, b := range binaries {
		cmd := exec.Command(filepath.Join(host, b.name), "__gen-docs", docs)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(p.Source.Time.Unix(), 10))
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s __gen-docs: %w: %s", b.name, err, out)
		}
	}
	gen, err := p.generate(filepath.Join(host, "chatd"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.Out, 0o755); err != nil {
		return nil, err
	}
	var made []string
	for _, arch := range p.Arches {
		bin := filepath.Join(p.stage, "linux-"+arch)
		if err := p.goBuild(arch, bin); err != nil {
			return made, err
		}
		for _, format := range p.Formats {
			path, err := p.pack(format, arch, bin, docs, gen)
			if err != nil {
				return made, err
			}
			made = append(made, path)
		}
	}
	return made, nil
}

// goBuild builds the three binaries for linux/arch into dir, in the
// checkout's own module, with the version stamped as install.sh does.
func (p *plan) goBuild(arch, dir string) error {
	goCmd := "go"
	if g := os.Getenv("GO"); g != "" {
		goCmd = g
	}
	for _, b := range binaries {
		args := []string{"build", "-trimpath", "-buildmode=pie",
			"-ldflags", "-s -w -X " + productModule + "/internal/version.Version=" + p.Source.Version,
			"-o", filepath.Join(dir, b.name), b.pkg}
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = p.Root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s for linux/%s: %w: %s", b.pkg, arch, err, strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}

// pack writes one package and returns its path.
func (p *plan) pack(format, arch, bin, docs string, gen generated) (string, error) {
	cfg := p.describe(arch, bin, docs, gen)
	info, err := cfg.Get(format)
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("%s for %s: %w", format, arch, err)
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	path := filepath.Join(p.Out, packager.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("%s for %s: %w", format, arch, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}
