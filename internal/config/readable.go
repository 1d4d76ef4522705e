package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Account is the user a service manager runs chatd as, for checking the
// files chatd will read with that user's permissions rather than the
// caller's: root reads any file, the service's user may not.
type Account struct {
	Name   string
	UID    int
	GID    int   // primary group, or the unit's Group=
	Groups []int // supplementary groups
	// By says who runs chatd as this user, for messages: "the unit
	// /etc/systemd/system/chatd.service".
	By string
	// Hidden are the directories the service does not see (the unit's
	// sandbox): a file there fails the service whatever its mode.
	Hidden []HiddenDir
}

// LookupAccount finds the user name (and group, if not "") of this host.
func LookupAccount(name, group, by string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, fmt.Errorf("user %s of %s: %w", name, by, err)
	}
	a := Account{Name: name, By: by}
	a.UID, _ = strconv.Atoi(u.Uid)
	a.GID, _ = strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return Account{}, fmt.Errorf("group %s of %s: %w", group, by, err)
		}
		a.GID, _ = strconv.Atoi(g.Gid)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return Account{}, fmt.Errorf("groups of user %s: %w", name, err)
	}
	for _, id := range ids {
		if gid, err := strconv.Atoi(id); err == nil {
			a.Groups = append(a.Groups, gid)
		}
	}
	return a, nil
}

// ErrCannotCheckAs is CheckReadableBy's answer where this system cannot
// open files as another user (only Linux can, for one thread).
var ErrCannotCheckAs = errors.New("files cannot be checked as another user here")

// CheckReadableBy checks that a can read every file the configuration
// names: the config file and the TLS files. A file only root may read
// passes `config check` run as root and then fails the service's start
// (exit 2, which the unit does not restart), so it is a configuration
// error here. The error names the key and the user.
func CheckReadableBy(cfg *Config, a Account) error {
	type file struct{ key, path string }
	var files []file
	if cfg.File != "" {
		files = append(files, file{"", cfg.File})
	}
	if len(cfg.TLS.Listen) > 0 {
		for _, f := range []file{{"tls.cert_file", cfg.TLS.CertFile}, {"tls.key_file", cfg.TLS.KeyFile}, {"tls.client_ca", cfg.TLS.ClientCA}} {
			if f.path != "" {
				files = append(files, f)
			}
		}
	}
	fail := func(f file, reason string, err error) error {
		if f.key == "" {
			return &Error{Source: "file " + f.path, Reason: reason, err: err}
		}
		return &Error{Key: f.key, Value: f.path, Source: sourceOfFileKey(cfg, f.key), Reason: reason, err: err}
	}
	paths := make([]string, len(files))
	for i, f := range files {
		for _, h := range a.Hidden {
			if rel, err := filepath.Rel(h.Dir, f.path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				return fail(f, fmt.Sprintf("the service does not see it: it is under %s, which %s hides from it (%s); put it elsewhere, such as /etc/chatd",
					h.Dir, a.By, h.By), nil)
			}
		}
		paths[i] = f.path
	}
	errs, err := openAs(a, paths)
	if err != nil {
		return err
	}
	for i, f := range files {
		if errs[i] == nil {
			continue
		}
		cause := errs[i]
		var pe *fs.PathError
		if errors.As(cause, &pe) {
			cause = pe.Err
		}
		reason := fmt.Sprintf("user %s, as whom %s runs chatd, cannot read it (%v): chatd would not start; "+
			"make it readable by that user (for a key: chgrp %s FILE; chmod 0640 FILE), and each directory above it searchable",
			a.Name, a.By, cause, groupName(a.GID))
		return fail(f, reason, errs[i])
	}
	return nil
}

// sourceOfFileKey is where a key without a flag got its (non-empty) value:
// its environment variable, else the file, as the loader ranks them.
func sourceOfFileKey(cfg *Config, key string) string {
	if env := envName(key); os.Getenv(env) != "" {
		return "environment " + env
	}
	if cfg.File != "" {
		return "file " + cfg.File
	}
	return "defaults"
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}
