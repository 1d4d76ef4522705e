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

	"golang.org/x/sys/unix"

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
// if that could not be done, and then the clients are served on as if
// nothing had happened: a restart that fails is never a stop. The
// failure is logged (one line) and counted for chatctl and /metrics.
func (d *Instance) Restart() error {
	err := d.restartInPlace()
	if err != nil {
		d.restartFailed(err)
	}
	return err
}

// restartPrecheck refuses, before anything is stopped, a restart in place
// that cannot work.
func (d *Instance) restartPrecheck() error {
	if d.surv.holder != nil {
		return ErrRestartUnderSystemd
	}
	if !d.Config().SurviveRestarts {
		return errors.New("survive_restarts is off: restarting in place would disconnect the clients")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-exec: find own binary: %w", err)
	}
	if err := syscall.Access(exe, 0o1); err != nil { // X_OK: a half-copied binary is not started
		return fmt.Errorf("re-exec %s: %w", exe, err)
	}
	return nil
}

func (d *Instance) restartInPlace() error {
	if err := d.restartPrecheck(); err != nil {
		return err
	}
	// Take a descriptor of each listening socket before the server
	// closes its own; each goes under the name the new image looks for.
	d.mu.Lock()
	set := d.listeners
	d.mu.Unlock()
	if set == nil {
		return errors.New("re-exec: no listener to hand over")
	}
	var listenerFiles []*os.File
	defer func() { // after a failure they were taken back (duplicated)
		for _, f := range listenerFiles {
			f.Close()
		}
	}()
	count := map[chatlisten.Kind]int{}
	for _, l := range set.Listeners {
		name := listenerName(l.Kind, count[l.Kind])
		count[l.Kind]++
		tl, ok := l.Socket.(*net.TCPListener)
		if !ok {
			return fmt.Errorf("re-exec: listener %s is not a TCP socket", l.Addr())
		}
		f, err := namedDup(tl, name)
		if err != nil {
			return fmt.Errorf("re-exec: listener %s: %w", l.Addr(), err)
		}
		listenerFiles = append(listenerFiles, f)
	}
	var passed []handover.Passed
	for _, f := range listenerFiles {
		passed = append(passed, handover.Passed{Name: f.Name(), Conn: f})
	}

	exe, _ := os.Executable()
	d.log.Info("chatd restarting in place: handing the clients over to a new image", "clients", d.reg.Len(), "binary", exe)
	ctx, cancel := d.handOverContext()
	defer cancel()
	st := d.stopForHandOver(ctx)
	sockets := d.srv.HandedSockets()
	for id, nc := range sockets {
		if sc, ok := nc.(syscall.Conn); ok {
			passed = append(passed, handover.Passed{Name: reexecConnPrefix + strconv.FormatUint(id, 10), Conn: sc})
		}
	}
	// Written out, not closed: after a failed exec the log goes on.
	flushCtx, flushed := context.WithTimeout(ctx, maxLogFlush)
	d.log.Flush(flushCtx)
	flushed()
	err := handover.Reexec(st, passed, d.restarts.hooks) // returns only on failure
	if terr := d.takeBackOwnHandOver(st, listenerFiles, sockets); terr != nil {
		d.log.Error("cannot serve on after the failed restart in place; the clients are closed", "err", terr.Error())
		d.closeAfterFailedTakeBack()
	}
	return err
}

// namedDup is a close-on-exec duplicate of l's socket under name, as the
// next image (or this one, after a failed exec) takes it back.
func namedDup(l *net.TCPListener, name string) (*os.File, error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) { dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3) }); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, dupErr
	}
	return os.NewFile(uintptr(dup), name), nil
}

// takeBackOwnHandOver serves on after a failed exec through the path a
// new image takes: the hand-over it wrote, the listeners and the
// connections, restored by a fresh chat server (the stopped one cannot
// serve again) with the admin API back.
func (d *Instance) takeBackOwnHandOver(st *handover.State, listeners []*os.File, sockets map[uint64]net.Conn) error {
	// The TLS material in force, not the files: they may have been broken
	// since, and this process must serve on exactly as it did.
	in := &Inheritance{files: fdstore.NewFiles(listeners), state: st, afterFailedExec: true, tls: materialOf(st.TLS)}
	for id, nc := range sockets {
		// The stop for the hand-over left a deadline in the past on
		// this very net.Conn; a new image's would have none.
		nc.SetDeadline(time.Time{})
		in.own = append(in.own, fdstore.Held{ID: id, Conn: nc, Shard: "failed re-exec"})
	}
	d.surv.inh = in
	d.srv = newServer(d.reg, d.log, d.Config())
	if err := d.Start(); err != nil {
		return err
	}
	return nil
}

// closeAfterFailedTakeBack closes, with the shutdown notice, what could
// not be served again.
func (d *Instance) closeAfterFailedTakeBack() {
	for _, h := range d.surv.inh.own {
		d.srv.CloseLost(h.Conn)
	}
	d.surv.inh.own = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}

// reexecedConns are the connections a re-exec passed by name, or, after
// a failed exec, this process's own.
func (d *Instance) reexecedConns() []fdstore.Held {
	held := d.surv.inh.own
	d.surv.inh.own = nil
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
	// What chatctl waits to see change: another image, or one failure more.
	now := d.restartState()
	res.Image, res.Failures = now.Image, now.Failures
	sig := syscall.SIGUSR2
	res.How = "re-exec"
	if d.surv.holder != nil {
		d.RequestRestart()
		sig, res.How = syscall.SIGTERM, "systemd"
	} else if !d.Config().SurviveRestarts {
		return res, errors.New("survive_restarts is off: restart with your service manager (the clients will be disconnected)")
	} else if err := d.restartPrecheck(); err != nil {
		// Refused before anything stopped; counted like any failure.
		d.restartFailed(err)
		return res, err
	}
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		return res, fmt.Errorf("restart: %w", err)
	}
	return res, nil
}
