package instance

import (
	"errors"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/tlslisten"
)

// Inheritance is what the previous chatd process left this one: the
// descriptors systemd's store handed over (or a re-exec passed), and the
// planned-restart state among them, read at once because the config to
// start with may be in it.
type Inheritance struct {
	files    *fdstore.Files
	state    *handover.State // nil: none, or unreadable (stateErr)
	problems []handover.Problem
	stateErr error
	// kept is the config the previous process kept in the store (see
	// keepConfig), the newest if two; keptNames are their entries.
	kept      *handover.State
	keptNames []string
	// tls is the TLS material of the last good config, when
	// ConfigOrLastGood went on with one (keptTLS).
	tls *tlslisten.Material
	// After a restart in place whose exec failed, the process takes its
	// own hand-over back: own are its connections, still open.
	own             []fdstore.Held
	afterFailedExec bool
}

// Inherit takes what the previous process left. chatd calls it once,
// before it reads its config, and hands the result to the daemon
// (Daemon.Inherit).
func Inherit() *Inheritance {
	files, err := handover.Reexeced()
	if files.Len() == 0 && err == nil {
		files = fdstore.Inherited()
	}
	in := newInheritance(files)
	if err != nil {
		in.stateErr = errors.Join(in.stateErr, err)
	}
	return in
}

func newInheritance(files *fdstore.Files) *Inheritance {
	in := &Inheritance{files: files}
	if f := files.Take(fdstore.StateName); f != nil {
		in.state, in.problems, in.stateErr = handover.ReadFile(f)
	}
	for _, f := range files.TakePrefix(fdstore.ConfigPrefix) {
		in.keptNames = append(in.keptNames, f.Name())
		// Unreadable: as if none was kept (the error, if it matters,
		// is the config file's own).
		if st, _, err := handover.ReadFile(f); err == nil && len(st.Config) > 0 &&
			(in.kept == nil || st.WrittenAt.After(in.kept.WrittenAt)) {
			in.kept = st
		}
	}
	return in
}

// ConfigOrLastGood loads the config. When that fails (the file, or a file
// it names: a certificate, its key, the client CA) while this process
// takes over from a running chatd, a restart onto a broken file must not
// become an outage: it returns the last good config, and, as broken, why
// the one on disk was refused. The last good config is the one a planned
// restart handed over, or after a crash the one the previous process kept
// in the store; either comes with the TLS material it served with, which
// the TLS listeners then serve (see keptTLS) instead of the files. Both
// are there only while the service runs or restarts (a stop removes them
// and systemd flushes its store), so also with no client held: new
// clients, TLS ones above all, which the store never holds, are what a
// crash onto a broken file would otherwise lock out. With neither (a
// first start, a start after a stop) the error stands, as always.
func (in *Inheritance) ConfigOrLastGood(load func() (*config.Config, error)) (cfg *config.Config, broken, err error) {
	cfg, err = load()
	if err == nil {
		return cfg, nil, nil
	}
	var kept *handover.State
	var from string
	switch {
	case in != nil && in.state != nil && len(in.state.Config) > 0:
		kept, from = in.state, "the last good config (handed over by chatd "+in.state.Version+")"
	case in != nil && in.kept != nil:
		kept, from = in.kept, "the last good config (kept by chatd "+in.kept.Version+" before it ended)"
	default:
		return cfg, nil, err
	}
	tls := materialOf(kept.TLS)
	last, lerr := config.FromKept(kept.Config, tls, from)
	if lerr != nil {
		return nil, nil, errors.Join(err, lerr)
	}
	in.tls = tls
	return last, err, nil
}

// materialOf is the TLS material of a hand-over, or nil.
func materialOf(t *handover.TLS) *tlslisten.Material {
	if t == nil {
		return nil
	}
	return &tlslisten.Material{Cert: t.Cert, Key: t.Key, ClientCA: t.ClientCA}
}

// keptTLS is the TLS material that came with the last good config
// ConfigOrLastGood went on with, or nil: then the TLS listeners load the
// files the config names.
func (in *Inheritance) keptTLS() *tlslisten.Material {
	if in == nil {
		return nil
	}
	return in.tls
}

// Inherit gives the daemon what the previous process left, and why the
// config in force is the last good one (nil: it is not). Without it, Start
// takes what systemd handed over itself.
func (d *Instance) Inherit(in *Inheritance, broken error) {
	d.surv.inh = in
	if broken != nil {
		d.surv.mu.Lock()
		d.surv.degraded = broken.Error()
		d.surv.mu.Unlock()
	}
}

// clearDegraded ends serving on the last good config (a reload loaded the
// files on disk) and returns why it was, or "" if it was not.
func (d *Instance) clearDegraded() string {
	d.surv.mu.Lock()
	defer d.surv.mu.Unlock()
	was := d.surv.degraded
	d.surv.degraded = ""
	return was
}
