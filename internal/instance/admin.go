package instance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/admin"
	"github.com/chatd/chatd/internal/server"
	"github.com/chatd/chatd/internal/version"
)

// adminStopTimeout bounds the wait for admin requests in progress at
// shutdown; the chat clients' drain comes after it.
const adminStopTimeout = 2 * time.Second

// startAdmin serves the admin API on the configured Unix socket.
func (d *Instance) startAdmin() error {
	cfg := d.Config()
	made := missingDirs(filepath.Dir(cfg.Admin.Socket))
	srv, err := admin.Start(admin.Options{
		Socket:   cfg.Admin.Socket,
		Mode:     cfg.Admin.SocketMode(),
		Group:    cfg.Admin.Group,
		Clients:  d.reg,
		Counters: d.adminCounters,
		Info:     d.adminInfo,
		IDs:      d.ids.State,
		Reload:   d.adminReload,
		Restart:  d.adminRestart,

		RestartState: d.restartState,
		Log:          d.log.Logger,
	})
	if err != nil {
		removeEmptyDirs(made)
		return fmt.Errorf("admin API: %w", err)
	}
	d.mu.Lock()
	d.admin = srv
	d.adminDirs = made
	d.mu.Unlock()
	return nil
}

// stopAdmin stops the admin API and removes its socket, and the
// directories chatd made for it if nothing else is in them.
func (d *Instance) stopAdmin() {
	d.mu.Lock()
	srv, made := d.admin, d.adminDirs
	d.admin, d.adminDirs = nil, nil
	d.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminStopTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		d.log.Warn("admin API shutdown", "err", err.Error())
	}
	removeEmptyDirs(made)
}

// missingDirs lists dir and those of its parents that do not exist yet,
// innermost first: what listening on a socket in dir will create. A
// non-root chatd's default socket directory (/tmp/chatd-UID without
// XDG_RUNTIME_DIR) is one, and nothing else removes it.
func missingDirs(dir string) []string {
	var missing []string
	for {
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = append(missing, dir)
		parent := filepath.Dir(dir)
		if parent == dir {
			return missing
		}
		dir = parent
	}
}

// removeEmptyDirs removes dirs, innermost first, stopping at the first
// that is not empty: another chatd's socket, or a file someone put there,
// keeps it and its parents.
func removeEmptyDirs(dirs []string) {
	for _, dir := range dirs {
		if syscall.Rmdir(dir) != nil { // never a file put in its place
			return
		}
	}
}

// adminCounters reads the chat server's counters for the admin API.
func (d *Instance) adminCounters() admin.Counters {
	st := d.srv.Stats()
	in, out := st.ClosedBytes()
	c := admin.Counters{
		AcceptErrors:    st.AcceptErrors.Load(),
		Rejected:        st.Rejected.Load(),
		SourceFull:      st.SourceRejected.Load(),
		ClosedBytesIn:   in,
		ClosedBytesOut:  out,
		Disconnects:     make(map[string]uint64, len(server.Reasons)),
		LogDropped:      d.log.Dropped(),
		Survival:        d.survivalForAdmin(),
		Handshakes:      d.handshakesForAdmin(),
		RestartFailures: d.restarts.failures.Load(),
	}
	for _, r := range server.Reasons {
		c.Disconnects[string(r)] = st.Disconnects(r)
	}
	return c
}

// adminInfo describes the daemon for the admin API's status and metrics.
func (d *Instance) adminInfo() admin.Info {
	listen := ""
	if a := d.Addr(); a != nil {
		listen = a.String()
	}
	return admin.Info{
		Version:    version.String(),
		PID:        os.Getpid(),
		StartedAt:  d.StartedAt(),
		Listen:     listen,
		ConfigFile: d.Config().File,
		MaxClients: d.srv.Settings().MaxClients,
	}
}
