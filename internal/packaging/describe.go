package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/chatd/chatd/internal/paths"
)

const defaultMaintainer = "chatd developers <chatd@example.org>"

const description = `TCP chat server that answers every client in capitals
 chatd serves many TCP clients at once and answers each one with its own
 message in capitals, at once. Each client gets a unique ID and ends its
 connection with CLOSE SOCKET. chatctl lists and kicks clients over an
 admin Unix socket; chat is the interactive client.
 .
 The package runs chatd as the chatd system user under a hardened systemd
 unit, configured by /etc/chatd/chatd.yaml.`

// where each generated documentation file goes below /usr/share
// (clidocs' layout → Debian's standard directories).
var docDirs = map[string]string{
	"completions/bash": "/usr/share/bash-completion/completions",
	"completions/zsh":  "/usr/share/zsh/vendor-completions",
	"completions/fish": "/usr/share/fish/vendor_completions.d",
}

// describe is the one package description both formats are built from;
// only the maintainer scripts differ (Debian's and RPM's arguments and
// tools differ).
func (p *plan) describe(arch, bin, docs string, gen generated) *nfpm.Config {
	var contents files.Contents
	add := func(src, dst, typ string, mode os.FileMode) {
		contents = append(contents, &files.Content{Source: src, Destination: dst, Type: typ,
			FileInfo: &files.ContentFileInfo{Mode: mode, Owner: "root", Group: "root"}})
	}
	for _, b := range binaries {
		add(filepath.Join(bin, b.name), binDir+"/"+b.name, "", 0o755)
	}
	add(gen.Unit, unitPath, "", 0o644)
	add(gen.Config, paths.SystemConfigFile, files.TypeConfigNoReplace, 0o644)
	add(gen.Copyright, "/usr/share/doc/chatd/copyright", "", 0o644)
	for _, section := range []string{"man1", "man8"} {
		for _, page := range listDir(filepath.Join(docs, "man", section)) {
			add(filepath.Join(docs, "man", section, page), "/usr/share/man/"+section+"/"+page, "", 0o644)
		}
	}
	dirs := make([]string, 0, len(docDirs))
	for d := range docDirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		for _, f := range listDir(filepath.Join(docs, d)) {
			add(filepath.Join(docs, d, f), docDirs[d]+"/"+f, "", 0o644)
		}
	}

	return &nfpm.Config{
		Info: nfpm.Info{
			Name:          "chatd",
			Arch:          arch,
			Platform:      "linux",
			Version:       p.Source.Version,
			VersionSchema: "none", // as computed: it already sorts right for dpkg and rpm
			Release:       packageRelease,
			Section:       "net",
			Priority:      "optional",
			Maintainer:    p.Maintainer,
			Description:   description,
			Vendor:        "chatd",
			License:       "chatd (see /usr/share/doc/chatd/copyright)",
			Changelog:     gen.Changelog,
			MTime:         p.Source.Time,
			Overridables: nfpm.Overridables{
				Depends:  []string{"adduser", "init-system-helpers (>= 1.54~)"},
				Contents: contents,
				Scripts: nfpm.Scripts{
					PostInstall: gen.Scripts["deb/postinst"],
					PreRemove:   gen.Scripts["deb/prerm"],
					PostRemove:  gen.Scripts["deb/postrm"],
				},
			},
		},
		Overrides: map[string]*nfpm.Overridables{
			"rpm": {
				Depends: []string{"shadow-utils"},
				Scripts: nfpm.Scripts{
					PostInstall: gen.Scripts["rpm/post"],
					PreRemove:   gen.Scripts["rpm/preun"],
					PostRemove:  gen.Scripts["rpm/postun"],
				},
				RPM: nfpm.RPM{Summary: strings.SplitN(description, "\n", 2)[0], Group: "System Environment/Daemons"},
			},
		},
	}
}

func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}
