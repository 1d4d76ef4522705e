package daemon

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/chatd/chatd/internal/admin"
	"github.com/chatd/chatd/internal/server"
	"github.com/chatd/chatd/internal/version"
)

// adminStopTimeout bounds the wait for admin requests in progress at
// shutdown; the chat clients' drain comes after it.
const adminStopTimeout = 2 * time.Second

// startAdmin serves the admin API on the configured Unix socket.
func (d *Daemon) startAdmin() error {
	cfg := d.Config()
	srv, err := admin.Start(admin.Options{
		Socket:   cfg.Admin.Socket,
		Mode:     cfg.Admin.SocketMode(),
		Group:    cfg.Admin.Group,
		Clients:  d.reg,
		Counters: d.adminCounters,
		Info:     d.adminInfo,
		IDs:      d.ids.State,
		Reload:   d.adminReload,
		Log:      d.log.Logger,
	})
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	d.mu.Lock()
	d.admin = srv
	d.mu.Unlock()
	return nil
}

// stopAdmin stops the admin API and removes its socket.
func (d *Daemon) stopAdmin() {
	d.mu.Lock()
	srv := d.admin
	d.admin = nil
	d.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminStopTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		d.log.Warn("admin API shutdown", "err", err.Error())
	}
}

// adminCounters reads the chat server's counters for the admin API.
func (d *Daemon) adminCounters() admin.Counters {
	st := d.srv.Stats()
	in, out := st.ClosedBytes()
	c := admin.Counters{
		AcceptErrors:   st.AcceptErrors.Load(),
		Rejected:       st.Rejected.Load(),
		ClosedBytesIn:  in,
		ClosedBytesOut: out,
		Disconnects:    make(map[string]uint64, len(server.Reasons)),
	}
	for _, r := range server.Reasons {
		c.Disconnects[string(r)] = st.Disconnects(r)
	}
	return c
}

// adminInfo describes the daemon for the admin API's status and metrics.
func (d *Daemon) adminInfo() admin.Info {
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
