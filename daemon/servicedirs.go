package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/lockfile"
	"github.com/chatd/chatd/internal/service"
	"github.com/chatd/chatd/internal/sysunit"
)

// refuseServiceDirs keeps a chatd run by hand out of the installed
// service's own directories (the unit's StateDirectory= and
// RuntimeDirectory=) when it runs as another user than the service: a
// root `chatd run` there would leave the client-ID file and the admin
// socket's lock owned by root, and the service (user chatd) would then
// run with IDs from the clock or not start at all. The same user may use
// them: the files stay the service's, and while the service runs the
// locks refuse the second one, naming the service.
//
// Only under systemd: launchd runs chatd as root, whose files a root
// chatd run by hand does not take from it.
func refuseServiceDirs(cfg *config.Config) error {
	if sysunit.Self() == service.Name+".service" {
		return nil // this is the service
	}
	unit := installedUnit()
	if unit == "" {
		return nil
	}
	u, err := config.ReadUnit(unit)
	if err != nil {
		return nil // a unit that cannot be read says nothing either way
	}
	if sameUser(u.User) {
		return nil
	}
	conflict := func(key, path string, dirs []string) string {
		for _, d := range dirs {
			if within(path, d) {
				return key + " " + path
			}
		}
		return ""
	}
	var taken []string
	if c := conflict("state_dir", cfg.StateDir, u.StateDirectories); c != "" {
		taken = append(taken, c)
	}
	if c := conflict("admin.socket", cfg.Admin.Socket, u.RuntimeDirectories); c != "" {
		taken = append(taken, c)
	}
	if len(taken) == 0 {
		return nil
	}
	runAs := u.User
	if runAs == "" {
		runAs = "root"
	}
	state := "it is not running"
	if h := lockfile.HolderOf(cfg.StateDir); h.PID > 0 {
		state = "it is running, pid " + strconv.Itoa(h.PID)
	}
	return fmt.Errorf("%s belong to the installed %s service (%s runs chatd as user %s; %s): "+
		"a chatd run by hand as another user would leave files there the service cannot use. "+
		"Use the service (systemctl start %s; chatctl), or give this chatd its own: --state-dir DIR --admin-socket PATH (and --listen ADDR while the service runs)",
		strings.Join(taken, " and "), service.Name, unit, runAs, state, service.Name)
}

// sameUser reports whether this process runs as the unit's User= ("" is
// root).
func sameUser(name string) bool {
	if name == "" || name == "root" {
		return os.Geteuid() == 0
	}
	u, err := user.Lookup(name)
	if err != nil {
		return false
	}
	return u.Uid == strconv.Itoa(os.Geteuid())
}

// within reports whether path is dir or lies under it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
