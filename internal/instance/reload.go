package instance

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/config"
)

// ErrNoConfigSource is returned by Reload when the daemon was not told
// where its configuration comes from.
var ErrNoConfigSource = errors.New("no configuration source (SetConfigSource was not called)")

// ReloadResult says what a reload changed.
type ReloadResult struct {
	// Applied lists the keys whose new values are now in force.
	Applied []string
	// NeedRestart lists the keys whose new values were read but take
	// effect only when chatd restarts; the old values stay in force.
	NeedRestart []string
	// TLS is the certificate the reload loaded; nil without a TLS
	// listener.
	TLS *TLSReload
}

// TLSReload is the certificate a reload loaded: every reload reads the
// files again, so that a renewed certificate is served without a change
// to any setting.
type TLSReload struct {
	CertFile string
	NotAfter time.Time
	Renewed  bool // another certificate than the one in force before
}

// reloadState is what Reload needs besides the daemon itself.
type reloadState struct {
	mu   sync.Mutex // one reload at a time
	load func() (*config.Config, error)
}

// SetConfigSource tells the daemon how to read its configuration again:
// the same defaults, file, environment and flags it was started with.
func (d *Instance) SetConfigSource(load func() (*config.Config, error)) {
	d.reload.mu.Lock()
	d.reload.load = load
	d.reload.mu.Unlock()
}

// Reload re-reads the configuration and applies what can change while
// clients are connected: log.level, max_clients, the timeouts, the
// greeting and the notices. Connected clients are not touched; new values
// apply to what happens next. Keys that cannot change live (listen,
// admin.*, state_dir, log.format) are reported as needing a restart and
// keep their running values. An invalid configuration is rejected as a
// whole, the running one stays, and the error says why.
func (d *Instance) Reload() (ReloadResult, error) {
	d.reload.mu.Lock()
	defer d.reload.mu.Unlock()
	if d.reload.load == nil {
		return ReloadResult{}, ErrNoConfigSource
	}
	d.notifyReloading()
	res, err := d.applyReload(d.reload.load)
	if err != nil {
		d.log.Error("configuration reload rejected; the running configuration stays", "err", err.Error())
		d.notifyReloaded("reload rejected: " + err.Error())
		return res, err
	}
	d.notifyReloaded(d.servingStatus() + "; configuration reloaded")
	return res, nil
}

func (d *Instance) applyReload(load func() (*config.Config, error)) (ReloadResult, error) {
	next, err := load()
	if err != nil {
		return ReloadResult{}, err
	}
	old := d.Config()
	// The certificate first: a reload that cannot load it changes nothing.
	tlsLoaded, err := d.reloadTLS(next)
	if err != nil {
		return ReloadResult{}, err
	}
	changes := config.Diff(old, next)
	// What cannot change live keeps its running value, so that Config()
	// keeps describing the daemon as it runs.
	merged := config.Reloadable(old, next)
	if merged.Log.Level != old.Log.Level {
		if err := d.log.SetLevel(merged.Log.Level); err != nil {
			return ReloadResult{}, fmt.Errorf("log.level: %w", err)
		}
	}
	if merged.MaxClients != old.MaxClients {
		warnIfMaxClientsLowered(d.log.Logger, merged.MaxClients)
	}
	d.srv.SetSettings(settingsOf(merged))
	d.mu.Lock()
	d.cfg = merged
	d.mu.Unlock()
	// The files on disk load again: no longer on the last good config.
	if was := d.clearDegraded(); was != "" {
		d.log.Info("the config loads again: no longer serving on the last good config", "config", merged.Origin, "was_broken", was)
	}
	// What runs changed (a renewed certificate has the same file names):
	// so does the kept config.
	if len(changes.Live) > 0 || tlsLoaded != nil {
		d.keepConfig()
	}

	d.log.Info("configuration reloaded", "config", merged.Origin,
		"applied", listOrNone(changes.Live), "max_clients", d.srv.Settings().MaxClients)
	if len(changes.Restart) > 0 {
		d.log.Warn("changed settings take effect only after a restart; their running values stay",
			"keys", strings.Join(changes.Restart, ","))
	}
	return ReloadResult{Applied: changes.Live, NeedRestart: changes.Restart, TLS: tlsLoaded}, nil
}

func listOrNone(keys []string) string {
	if len(keys) == 0 {
		return "(nothing changed)"
	}
	return strings.Join(keys, ",")
}
