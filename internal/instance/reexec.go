//go:build unix

package instance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/chatlisten"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/handover"
)

// Without a service manager to hold them (a foreground `chatd run`,
// launchd), a planned restart or upgrade re-execs the binary in place:
// same PID, the listener and every connection inherited as open
// descriptors, their state in a memfd beside them. A crash there drops
// the clients: nobody else holds their sockets.

// reexecConnPrefix names an inherited connection: "client.<ID>".
const reexecConnPrefix = "client."

// ErrRestartUnderSystemd refuses a re-exec where systemd must do the
// restart (it holds the clients across it).
var ErrRestartUnderSystemd = errors.New("chatd runs under systemd: restart it with systemctl restart chatd (the clients stay connected)")

// Restart hands every client over to a fresh image of the chatd binary
// (after an upgrade, the new one) in this same process. It returns only
// if that could not be done; nothing was handed over then, unless the
// exec itself failed, after which the clients are closed with the notice.
func (d *Instance) Restart() error {
	if d.surv.holder != nil {
		return ErrRestartUnderSystemd
	}
	if !d.Config().SurviveRestarts {
		return errors.New("survive_restarts is off: restarting in place would disconnect the clients")
	}
	exe, err := os.Executable()
	if err == nil {
		err = syscall.Access(exe, 0o1) // X_OK: a half-copied binary is not started
	}
	if err != nil {
		return fmt.Errorf("re-exec: %w", err)
	}
	// Dup the listening sockets before the server closes its own
	// descriptors; each goes under the name the new image looks for.
	d.mu.Lock()
	set := d.listeners
	d.mu.Unlock()
	if set == nil {
		return errors.New("re-exec: no listener to hand over")
	}
	var passed []handover.Passed
	count := map[chatlisten.Kind]int{}
	for _, l := range set.Listeners {
		name := listenerName(l.Kind, count[l.Kind])
		count[l.Kind]++
		tl, ok := l.Socket.(*net.TCPListener)
		if !ok {
			return fmt.Errorf("re-exec: listener %s is not a TCP socket", l.Addr())
		}
		f, err := tl.File()
		if err != nil {
			return fmt.Errorf("re-exec: listener %s: %w", l.Addr(), err)
		}
		defer f.Close()
		passed = append(passed, handover.Passed{Name: name, Conn: f})
	}

	d.log.Info("chatd restarting in place: handing the clients over to a new image", "clients", d.reg.Len(), "binary", exe)
	ctx, cancel := d.handOverContext()
	defer cancel()
	stateFile, err := handover.WriteFile(d.stopForHandOver(ctx))
	if err != nil {
		return d.failedReexec(fmt.Errorf("re-exec: %w", err))
	}
	defer stateFile.Close()
	passed = append(passed, handover.Passed{Name: fdstore.StateName, Conn: stateFile})
	for id, nc := range d.srv.HandedSockets() {
		if sc, ok := nc.(syscall.Conn); ok {
			passed = append(passed, handover.Passed{Name: reexecConnPrefix + strconv.FormatUint(id, 10), Conn: sc})
		}
	}
	d.flushLog(ctx)
	err = handover.Reexec(passed) // returns only on failure
	return d.failedReexec(err)
}

// failedReexec closes what was handed over, with the shutdown notice: the
// server has stopped and cannot take the clients back.
func (d *Instance) failedReexec(err error) error {
	d.log.Error("restart in place failed; the clients are closed", "err", err.Error())
	for _, nc := range d.srv.HandedSockets() {
		d.srv.CloseLost(nc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
	return err
}

// takeBackReexeced serves the connections a re-exec passed by name.
func (d *Instance) reexecedConns() []fdstore.Held {
	var held []fdstore.Held
	for _, f := range d.surv.inh.files.TakePrefix(reexecConnPrefix) {
		id, err := strconv.ParseUint(strings.TrimPrefix(f.Name(), reexecConnPrefix), 10, 64)
		nc, cerr := fdstore.Conn(f)
		if cerr != nil {
			d.log.Error("cannot take an inherited connection back", "name", f.Name(), "err", cerr.Error())
			continue
		}
		if err != nil {
			id = 0 // closed with a notice
		}
		held = append(held, fdstore.Held{ID: id, Conn: nc, Shard: "re-exec"})
	}
	return held
}

// Serving reports whether the chat server still serves (a failed restart
// in place may have stopped it).
func (d *Instance) Serving() bool { return !d.srv.Stopped() }

// adminRestart starts a planned restart for the admin API and returns at
// once, through the same signal paths as systemctl restart (a SIGTERM the
// stop path sees as a restart) or kill -USR2. The answer still goes out:
// the hand-over first shuts the admin API down, which waits for the
// requests in progress.
func (d *Instance) adminRestart() (adminapi.RestartResult, error) {
	res := adminapi.RestartResult{PID: os.Getpid(), Clients: d.reg.Len()}
	sig := syscall.SIGUSR2
	res.How = "re-exec"
	if d.surv.holder != nil {
		d.RequestRestart()
		sig, res.How = syscall.SIGTERM, "systemd"
	} else if !d.Config().SurviveRestarts {
		return res, errors.New("survive_restarts is off: restart with your service manager (the clients will be disconnected)")
	}
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		return res, fmt.Errorf("restart: %w", err)
	}
	return res, nil
}
