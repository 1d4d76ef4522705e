package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/sockettrust"
	"github.com/chatd/chatd/internal/tlslisten"
)

// The checks below are the rows' check functions in keys.go. Besides the
// form of a value they check what chatd would otherwise only find out while
// starting (a group that does not exist, a socket directory it cannot use):
// `chatd config check`, `chatd run` and a reload all run them, so a value
// that passes the check does not fail the start, and the start fails with
// the configuration's exit status instead of a generic one, which a
// service manager would restart in a loop.

// hostPort accepts HOST:PORT with a numeric port 0–65535 (0 picks a free
// port); HOST may be empty (all interfaces), an IP or a name.
func hostPort(v any) error {
	host, port, err := net.SplitHostPort(v.(string))
	if err != nil {
		return errors.New("must be HOST:PORT, like 127.0.0.1:5605")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q is not an IP address or host name", host)
	}
	return nil
}

// each applies check to every item of a list; the error names the item.
func each(check func(any) error) func(any) error {
	return func(v any) error {
		for _, item := range v.([]string) {
			if err := check(item); err != nil {
				return fmt.Errorf("%s: %w", item, err)
			}
		}
		return nil
	}
}

// cidrs accepts the PROXY protocol's trusted peers as the listener reads
// them: CIDRs (10.0.0.0/8) or single addresses.
func cidrs(v any) error {
	_, err := proxyheader.ParseTrusted(v.([]string))
	return err
}

func absoluteOrEmpty(v any) error {
	if v.(string) == "" {
		return nil
	}
	return absolute(v.(string))
}

// checkTogether checks what no key can check alone: that something
// listens, that a TLS listener has its certificate (loaded here, so that
// a certificate chatd cannot use fails the check, not the start; from
// kept when not nil), that the PROXY protocol has peers to trust, and that
// no key is set that its companion leaves without effect (dependents.go).
func checkTogether(c *Config, src sources, opts checkOptions) error {
	kept := opts.tls
	bad := func(key, reason string) error {
		return &Error{Key: key, Value: fmt.Sprint(field(c, key).Interface()), Source: src.of(key), Reason: reason}
	}
	if len(c.Listen) == 0 && len(c.TLS.Listen) == 0 {
		return bad("listen", "is empty and so is tls.listen: chatd would not listen at all")
	}
	if len(c.TLS.Listen) > 0 {
		switch {
		case c.TLS.CertFile == "":
			return bad("tls.cert_file", "must be set when tls.listen is")
		case c.TLS.KeyFile == "":
			return bad("tls.key_file", "must be set when tls.listen is")
		}
		var err error
		if kept != nil {
			_, err = tlslisten.NewServerKept(c.TLSFiles(), *kept)
		} else {
			_, err = tlslisten.NewServer(c.TLSFiles())
		}
		if err != nil {
			return bad("tls.cert_file", oneLine(err.Error()))
		}
	}
	if c.ProxyProtocol.Enabled && len(c.ProxyProtocol.Trusted) == 0 {
		return bad("proxy_protocol.trusted", "must list the load balancers' addresses when proxy_protocol.enabled is true")
	}
	if opts.ranBefore {
		return nil
	}
	return checkDependents(c, src)
}

func atLeast(min int) func(any) error {
	return func(v any) error {
		if v.(int) < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

func durationAtLeast(min time.Duration) func(any) error {
	return func(v any) error {
		switch d := v.(time.Duration); {
		case d < 0:
			return errors.New("must not be negative")
		case d < min:
			return errors.New("must be at least " + min.String())
		}
		return nil
	}
}

func oneOf(allowed ...string) func(any) error {
	return func(v any) error {
		if !slices.Contains(allowed, v.(string)) {
			return errors.New("must be one of " + strings.Join(allowed, ", "))
		}
		return nil
	}
}

func absolute(path string) error {
	if path == "" || !filepath.IsAbs(path) {
		return errors.New("must be an absolute path")
	}
	return nil
}

// usableDir checks the state directory's form only. A state directory
// chatd cannot write is not a reason to refuse to start: client IDs then
// come from the clock, which no restart can repeat.
func usableDir(v any) error { return absolute(v.(string)) }

// socketPath checks that chatd, run by this user, can create its admin
// socket at the path: the refusals of the admin server that depend on the
// file system alone, a directory another user owns first among them (the
// fallback /tmp/chatd-UID is a name anyone can take). Whether another
// chatd already serves the socket is left to the start, and so is the
// directory's owner when root checks (the service's user owns it, rightly).
func socketPath(v any) error {
	path := v.(string)
	if err := absolute(path); err != nil {
		return err
	}
	// sun_path holds 108 bytes on Linux (104 on BSDs), including the NUL.
	if len(path) > 103 {
		return errors.New("is too long for a Unix socket path (at most 103 bytes)")
	}
	if fi, err := os.Lstat(path); err == nil {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return errors.New("is a symbolic link; refusing to use it")
		case fi.Mode()&fs.ModeSocket == 0:
			return errors.New("exists and is not a socket; refusing to replace it")
		}
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if missing(err) {
		return creatable(dir)
	}
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("directory %s is not a directory", dir)
	}
	// Root checking the service's configuration finds the directory owned
	// by the service's user, rightly: the start checks the owner then.
	if err := sockettrust.ServerDir(dir, fi, uint32(os.Geteuid()), os.Geteuid() != 0); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "admin socket "))
	}
	if unix.Access(dir, unix.W_OK|unix.X_OK) != nil {
		return fmt.Errorf("directory %s is not writable by uid %d", dir, os.Geteuid())
	}
	return nil
}

// creatable checks that the missing directory dir can be made: its nearest
// existing ancestor is a directory chatd may write.
func creatable(dir string) error {
	for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
		fi, err := os.Stat(parent)
		if missing(err) && parent != filepath.Dir(parent) {
			continue
		}
		switch {
		case err != nil:
			return fmt.Errorf("directory %s cannot be created: %w", dir, errors.Unwrap(err))
		case !fi.IsDir():
			return fmt.Errorf("directory %s cannot be created: %s is not a directory", dir, parent)
		case unix.Access(parent, unix.W_OK|unix.X_OK) != nil:
			return fmt.Errorf("directory %s cannot be created: %s is not writable by uid %d", dir, parent, os.Geteuid())
		}
		return nil
	}
}

// missing reports that a path does not exist, also because a file stands
// where one of its directories should be.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// existingGroup checks that admin.group names a group of this host that
// chatd may give its socket to: root may use any group, anyone else only
// one of their own.
func existingGroup(v any) error {
	name := v.(string)
	if name == "" {
		return nil
	}
	if strings.ContainsAny(name, " :/\n") {
		return errors.New("is not a valid group name")
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		if _, numeric := strconv.Atoi(name); numeric == nil {
			g, err = user.LookupGroupId(name)
		}
	}
	if err != nil {
		return errors.New("no such group on this host")
	}
	if os.Geteuid() == 0 {
		return nil
	}
	gid, _ := strconv.Atoi(g.Gid)
	groups, _ := os.Getgroups()
	if gid != os.Getegid() && !slices.Contains(groups, gid) {
		return fmt.Errorf("uid %d is not a member of this group, so chatd cannot give the socket to it", os.Geteuid())
	}
	return nil
}
