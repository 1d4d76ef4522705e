package service

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	kservice "github.com/kardianos/service"
)

// State is the installed service's state.
type State int

// States, as `chatd service status` prints them.
const (
	NotInstalled State = iota
	Running
	Stopped
	Failed
)

func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Stopped:
		return "stopped"
	case Failed:
		return "failed"
	}
	return "not installed"
}

// ErrNoServiceManager is what NewManager's error is when no service
// manager runs here (errors.Is); its text says why.
var ErrNoServiceManager = errors.New("no service manager is running")

// noManagerError is ErrNoServiceManager with the reason, which says "no
// service manager" itself: prefixing the sentinel's text would stutter.
type noManagerError struct{ why string }

func (e *noManagerError) Error() string        { return e.why }
func (e *noManagerError) Is(target error) bool { return target == ErrNoServiceManager }

// Manager installs and controls the chatd service.
type Manager struct {
	platform Platform
	opts     Options
	svc      kservice.Service
}

// NewManager prepares to control the service described by o. It fails
// with an error that is ErrNoServiceManager when none is running.
func NewManager(o Options) (*Manager, error) {
	p := Detect()
	if !p.Usable {
		return nil, &noManagerError{why: p.Why}
	}
	cfg, err := o.kardianosConfig()
	if err != nil {
		return nil, err
	}
	svc, err := kservice.New(&adapter{p: Program{
		Start: func() error { return nil },
		Stop:  func() error { return nil },
	}}, cfg)
	if err != nil {
		return nil, fmt.Errorf("service manager %s: %w", p.Name, err)
	}
	return &Manager{platform: p, opts: o, svc: svc}, nil
}

// Platform is the service manager in use.
func (m *Manager) Platform() Platform { return m.platform }

// Options are the options the manager installs with.
func (m *Manager) Options() Options { return m.opts }

// Installed reports whether the service definition exists.
func (m *Manager) Installed() bool {
	if f := m.platform.ServiceFile(); f != "" {
		_, err := os.Stat(f)
		return err == nil
	}
	st, err := m.Status()
	return err == nil && st != NotInstalled
}

// Install writes the service definition and enables it (systemd: enable
// and daemon-reload). It does not start the service. With replace, an
// existing definition is replaced (an upgrade); without, it is an error.
func (m *Manager) Install(replace bool) error {
	if m.Installed() {
		if !replace {
			return fmt.Errorf("the %s service is already installed (%s); use --replace to rewrite it", Name, m.platform.ServiceFile())
		}
		if m.platform.Name == "linux-systemd" {
			return m.rewriteUnit()
		}
		if err := m.svc.Uninstall(); err != nil {
			return fmt.Errorf("replace the %s service definition: %w", Name, err)
		}
	}
	if err := m.svc.Install(); err != nil {
		return fmt.Errorf("install the %s service: %w", Name, err)
	}
	return nil
}

// Uninstall stops the service and removes its definition. It reports
// whether there was anything to remove.
func (m *Manager) Uninstall() (bool, error) {
	if !m.Installed() {
		return false, nil
	}
	if st, _ := m.Status(); st == Running {
		if err := m.svc.Stop(); err != nil {
			return true, fmt.Errorf("stop the %s service: %w%s", Name, err, m.hint())
		}
	}
	if err := m.svc.Uninstall(); err != nil {
		return true, fmt.Errorf("uninstall the %s service: %w", Name, err)
	}
	if m.platform.Name == "linux-systemd" {
		// Forget a failed state the removed unit may have left behind.
		exec.Command("systemctl", "reset-failed", Name+".service").Run()
	}
	return true, nil
}

// Start starts the service. Under systemd it returns once chatd said it is
// ready (Type=notify).
func (m *Manager) Start() error {
	if err := m.svc.Start(); err != nil {
		return fmt.Errorf("start the %s service: %w%s", Name, err, m.hint())
	}
	return nil
}

// Stop stops the service; chatd drains its clients first.
func (m *Manager) Stop() error {
	if err := m.svc.Stop(); err != nil {
		return fmt.Errorf("stop the %s service: %w%s", Name, err, m.hint())
	}
	return nil
}

// Restart stops and starts the service.
func (m *Manager) Restart() error {
	if err := m.svc.Restart(); err != nil {
		return fmt.Errorf("restart the %s service: %w%s", Name, err, m.hint())
	}
	return nil
}

// Status asks the service manager for the service's state.
func (m *Manager) Status() (State, error) {
	st, err := m.svc.Status()
	switch {
	case errors.Is(err, kservice.ErrNotInstalled):
		return NotInstalled, nil
	case err != nil && strings.Contains(err.Error(), "failed state"):
		return Failed, nil
	case err != nil:
		return NotInstalled, fmt.Errorf("status of the %s service: %w", Name, err)
	case st == kservice.StatusRunning:
		return Running, nil
	case st == kservice.StatusStopped:
		return Stopped, nil
	}
	return NotInstalled, fmt.Errorf("status of the %s service: unknown", Name)
}

// hint says where to look when the service manager refused.
func (m *Manager) hint() string {
	switch m.platform.Name {
	case "linux-systemd":
		return " (see: systemctl status " + Name + "; journalctl -u " + Name + ")"
	case "darwin-launchd":
		return " (see: launchctl print system/" + Name + "; " + m.logFile() + ")"
	}
	return ""
}

func (m *Manager) logFile() string {
	dir := m.opts.LogDir
	if dir == "" {
		dir = DefaultLogDir
	}
	return dir + "/" + Name + ".err.log"
}

// rewriteUnit replaces an installed systemd unit in place (an upgrade).
// Uninstalling first would leave systemd a moment with no unit file: a
// daemon-reload then sees no FileDescriptorStoreMax= and the running
// chatd's descriptor store, its clients' connections with it, is lost.
func (m *Manager) rewriteUnit() error {
	unit, err := SystemdUnitFile(m.opts)
	if err != nil {
		return err
	}
	path := m.platform.ServiceFile()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(unit), 0o644); err != nil {
		return fmt.Errorf("replace the %s service definition: %w", Name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace the %s service definition: %w", Name, err)
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", Name + ".service"}} {
		if out, err := exec.Command("systemctl", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
