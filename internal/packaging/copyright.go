package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// module is a Go module compiled into the binaries.
type module struct {
	Path, Version, Dir string
	License            string // SPDX-style short name (Debian's)
	Copyright          []string
	Text               string // the license file, for licenses Debian has no copy of
}

// commonLicenses are the licenses Debian ships in /usr/share/common-licenses.
var commonLicenses = []string{"Apache-2.0", "MPL-2.0", "GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3"}

// copyrightFile is /usr/share/doc/chatd/copyright in Debian's
// machine-readable format: chatd itself, and every module the binaries
// are linked from with its license, read from the module's own files.
func (p *plan) copyrightFile() (string, error) {
	mods, err := p.linkedModules()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
	b.WriteString("Upstream-Name: chatd\n")
	b.WriteString("Comment: chatd is statically linked from the Go modules listed below.\n\n")
	fmt.Fprintf(&b, "Files: *\nCopyright: %d the chatd authors\nLicense: chatd\n\n", p.Source.Time.Year())
	for _, m := range mods {
		fmt.Fprintf(&b, "Files: vendor/%s/*\nCopyright: %s\nLicense: %s\nComment: Go module %s %s\n\n",
			m.Path, strings.Join(m.Copyright, "\n "), m.License, m.Path, m.Version)
	}
	b.WriteString("License: chatd\n No license has been published for chatd: all rights reserved by its\n authors.\n")
	used := map[string]bool{}
	for _, m := range mods {
		if slices.Contains(commonLicenses, m.License) && !used[m.License] {
			used[m.License] = true
			fmt.Fprintf(&b, "\nLicense: %s\n On Debian systems the full text is in /usr/share/common-licenses/%s.\n", m.License, m.License)
		}
	}
	// Licenses Debian has no copy of are given in full, from the first
	// module under each (less its copyright lines, which are above).
	for _, m := range mods {
		if used[m.License] {
			continue
		}
		used[m.License] = true
		fmt.Fprintf(&b, "\nLicense: %s\n%s", m.License, indentLicense(m.Text))
	}
	return b.String(), nil
}

// linkedModules lists the modules the three main packages import, with
// their licenses.
func (p *plan) linkedModules() ([]module, error) {
	args := []string{"list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}"}
	for _, b := range binaries {
		args = append(args, b.pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = p.Root
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list the linked modules: %w", err)
	}
	seen := map[string]bool{}
	var mods []module
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		m := module{Path: f[0], Version: f[1], Dir: f[2]}
		if err := m.readLicense(); err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b module) int { return strings.Compare(a.Path, b.Path) })
	return mods, nil
}

var copyrightLine = regexp.MustCompile(`(?i)^\s*copyright\s+(?:\(c\)\s*|©\s*)?(.*\d{4}.*)$`)

// readLicense finds the module's license file and names its license.
func (m *module) readLicense() error {
	var text []byte
	for _, name := range []string{"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "LICENSE-APACHE"} {
		if b, err := os.ReadFile(filepath.Join(m.Dir, name)); err == nil {
			text = b
			break
		}
	}
	if text == nil {
		return fmt.Errorf("module %s has no license file in %s", m.Path, m.Dir)
	}
	m.Text = string(text)
	t := strings.Join(strings.Fields(m.Text), " ")
	switch {
	case strings.Contains(t, "Apache License") && strings.Contains(t, "Version 2.0"):
		m.License = "Apache-2.0"
	case strings.Contains(t, "Mozilla Public License Version 2.0"):
		m.License = "MPL-2.0"
	case strings.Contains(t, "Permission is hereby granted, free of charge"):
		m.License = "Expat"
	case strings.Contains(t, "Redistribution and use in source and binary forms") && strings.Contains(t, "Neither the name"):
		m.License = "BSD-3-clause"
	case strings.Contains(t, "Redistribution and use in source and binary forms"):
		m.License = "BSD-2-clause"
	case strings.Contains(t, "This software is provided 'as-is'"):
		m.License = "Zlib"
	case strings.Contains(t, "Permission to use, copy, modify, and/or distribute"), strings.Contains(t, "Permission to use, copy, modify, and distribute"):
		m.License = "ISC"
	default:
		return fmt.Errorf("module %s: cannot tell the license of %s", m.Path, m.Dir)
	}
	for _, l := range strings.Split(m.Text, "\n") {
		if c := copyrightLine.FindStringSubmatch(l); c != nil {
			m.Copyright = append(m.Copyright, strings.TrimSpace(c[1]))
		}
	}
	if len(m.Copyright) == 0 {
		m.Copyright = []string{"the authors of " + m.Path}
	}
	return nil
}

// indentLicense formats a license text as a copyright-file field body:
// every line indented by one space, empty lines as " .".
func indentLicense(text string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		switch {
		case copyrightLine.MatchString(l):
		case l == "":
			b.WriteString(" .\n")
		default:
			b.WriteString(" " + l + "\n")
		}
	}
	return b.String()
}
