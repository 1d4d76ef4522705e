package main

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chatd/chatd/internal/paths"
	"github.com/chatd/chatd/internal/service"
)

// The installed service's account, directories and config, as install.sh
// sets them up.
const (
	serviceUser = "chatd"
	stateDir    = paths.SystemStateDir
	unitPath    = "/usr/lib/systemd/system/chatd.service"
	binDir      = "/usr/bin"
)

//go:embed scripts
var scripts embed.FS

// generated are the files made for the package, in the stage directory.
type generated struct {
	Config, Unit, Copyright, Changelog string
	Scripts                            map[string]string // name → path
}

// generate writes the config, the unit, the copyright file, the changelog
// and the maintainer scripts to the stage directory. chatd is this
// machine's chatd, used to check the config.
func (p *plan) generate(chatd string) (generated, error) {
	dir := filepath.Join(p.stage, "generated")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return generated{}, err
	}
	g := generated{
		Config:    filepath.Join(dir, "chatd.yaml"),
		Unit:      filepath.Join(dir, "chatd.service"),
		Copyright: filepath.Join(dir, "copyright"),
		Changelog: filepath.Join(dir, "changelog.yml"),
		Scripts:   map[string]string{},
	}
	sample, err := os.ReadFile(filepath.Join(p.Root, "configs", "chatd.yaml"))
	if err != nil {
		return g, err
	}
	cfg, err := serviceConfig(string(sample))
	if err != nil {
		return g, err
	}
	if err := os.WriteFile(g.Config, []byte(cfg), 0o644); err != nil {
		return g, err
	}
	if err := checkConfig(chatd, g.Config); err != nil {
		return g, err
	}
	unit, err := service.SystemdUnitFile(serviceOptions())
	if err != nil {
		return g, err
	}
	if err := os.WriteFile(g.Unit, []byte(unit), 0o644); err != nil {
		return g, err
	}
	copyright, err := p.copyrightFile()
	if err != nil {
		return g, err
	}
	if err := os.WriteFile(g.Copyright, []byte(copyright), 0o644); err != nil {
		return g, err
	}
	if err := os.WriteFile(g.Changelog, []byte(p.changelog()), 0o644); err != nil {
		return g, err
	}
	entries, err := scripts.ReadDir("scripts")
	if err != nil {
		return g, err
	}
	for _, format := range entries {
		names, err := scripts.ReadDir("scripts/" + format.Name())
		if err != nil {
			return g, err
		}
		for _, n := range names {
			b, err := scripts.ReadFile("scripts/" + format.Name() + "/" + n.Name())
			if err != nil {
				return g, err
			}
			path := filepath.Join(dir, format.Name()+"-"+n.Name())
			if err := os.WriteFile(path, b, 0o755); err != nil {
				return g, err
			}
			g.Scripts[format.Name()+"/"+n.Name()] = path
		}
	}
	return g, nil
}

// serviceOptions are the options the packaged unit is rendered with: what
// `chatd service install` uses for /usr/bin/chatd run by user chatd.
func serviceOptions() service.Options {
	return service.Options{
		Executable: binDir + "/chatd",
		ConfigFile: paths.SystemConfigFile,
		User:       serviceUser,
		Group:      serviceUser,
	}
}

// serviceEdits turn the sample config into the service's: the state and
// the socket where the unit's StateDirectory and RuntimeDirectory are, and
// group chatd allowed on the admin socket. install.sh makes the same edits.
// key and value are what chatd must then read back.
var serviceEdits = []struct{ prefix, line, key, value string }{
	{"# state_dir: ", `state_dir: "` + stateDir + `"`, "state_dir", stateDir},
	{"  # socket: ", `  socket: "` + paths.SystemAdminSocket + `"`, "admin.socket", paths.SystemAdminSocket},
	{`  group: ""`, `  group: "` + serviceUser + `"`, "admin.group", serviceUser},
}

// serviceConfig applies serviceEdits to the sample, each exactly once.
func serviceConfig(sample string) (string, error) {
	lines := strings.Split(sample, "\n")
	for _, e := range serviceEdits {
		n := 0
		for i, l := range lines {
			if strings.HasPrefix(l, e.prefix) {
				lines[i] = e.line
				n++
			}
		}
		if n != 1 {
			return "", fmt.Errorf("configs/chatd.yaml: %d lines start with %q, want exactly one", n, e.prefix)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// checkConfig has chatd read each edited key back from the config (one
// value, from chatd itself: the YAML's layout is chatd's to change).
func checkConfig(chatd, file string) error {
	for _, e := range serviceEdits {
		var stderr bytes.Buffer
		cmd := exec.Command(chatd, "config", "show", "--config", file, e.key)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("chatd config show --config %s %s: %w: %s", file, e.key, err, strings.TrimSpace(stderr.String()))
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != e.value {
			return fmt.Errorf("chatd reads %s = %q back from the packaged config, want %q", e.key, got, e.value)
		}
	}
	return nil
}

// changelog is a one-entry changelog in the format nfpm reads (chglog),
// which it turns into Debian's changelog.Debian.gz.
func (p *plan) changelog() string {
	return fmt.Sprintf(`- semver: %q
  date: %s
  packager: %q
  deb:
    urgency: medium
    distributions: [unstable]
  changes:
    - commit: %q
      note: %q
`, p.debVersion(), p.Source.Time.Format(time.RFC3339), p.Maintainer, p.Source.Commit,
		"Built from commit "+p.Source.Commit+".")
}

// debVersion is the full Debian version: upstream, then revision 1.
func (p *plan) debVersion() string { return p.Source.Version + "-" + packageRelease }

const packageRelease = "1"
