package instance

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/chatd/chatd/internal/admin"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/listen"
	"github.com/chatd/chatd/internal/lockfile"
	"github.com/chatd/chatd/internal/neterr"
	"github.com/chatd/chatd/internal/paths"
)

// listenError is the start's error for listeners that could not be
// opened. A listen error names its address already; an address in use by
// another chatd names that chatd, since the usual cause is a second chatd
// started beside the first (or beside the service) without its own
// listen address.
func listenError(cfg *config.Config, err error) error {
	var le *listen.Error
	if !errors.As(err, &le) {
		return fmt.Errorf("listen on %s: %w", strings.Join(append(cfg.Listen, cfg.TLS.Listen...), ","), neterr.Cause(err))
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	if who := chatdOnAddr(cfg, le.Addr); who != "" {
		return fmt.Errorf("%w %s", err, who)
	}
	return err
}

// chatdOnAddr finds a running chatd that listens on addr, by the admin
// socket locks chatd holds for its whole life: this configuration's own
// socket (the same one, with another state_dir) and the default ones (the
// service's, this user's). It says who it is, or "" if none is.
func chatdOnAddr(cfg *config.Config, addr string) string {
	var maybe string
	seen := map[string]bool{}
	for _, sock := range []string{cfg.Admin.Socket, paths.SystemAdminSocket, paths.AdminSocket()} {
		if sock == "" || seen[sock] {
			continue
		}
		seen[sock] = true
		h := lockfile.HolderOf(admin.LockPath(sock))
		if h.PID == 0 || h.PID == os.Getpid() {
			continue
		}
		switch holds, known := listen.Holds(h.PID, addr); {
		case holds:
			return fmt.Sprintf("by %s, admin socket %s; give this one its own listen address (--listen, or listen in its config)", h, sock)
		case !known && maybe == "":
			maybe = fmt.Sprintf("(%s runs with admin socket %s and may hold it)", h, sock)
		}
	}
	return maybe
}
