package instance

import (
	"errors"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/handover"
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

// handedOverClients reports whether a planned restart handed clients to
// this process.
func (in *Inheritance) handedOverClients() bool {
	return in != nil && in.state != nil && len(in.state.Conns) > 0
}

// ConfigOrLastGood loads the config. When that fails while clients are
// held for this process, a restart onto a broken config must not become an
// outage: it returns the last good config, and, as broken, why the one on
// disk was refused. The last good config is the one a planned restart
// handed over with its clients, or after a crash the one the previous
// process kept in the store beside the held connections. With no clients
// held (a first start, a start after a stop) the error stands, as always.
func (in *Inheritance) ConfigOrLastGood(load func() (*config.Config, error)) (cfg *config.Config, broken, err error) {
	cfg, err = load()
	if err == nil {
		return cfg, nil, nil
	}
	var doc []byte
	var from string
	switch {
	case in.handedOverClients() && len(in.state.Config) > 0:
		doc, from = in.state.Config, "the last good config (handed over by chatd "+in.state.Version+")"
	case in.kept != nil && in.files.HoldsConns():
		doc, from = in.kept.Config, "the last good config (kept by chatd "+in.kept.Version+" before it ended)"
	default:
		return cfg, nil, err
	}
	last, lerr := config.FromDocument(doc, from)
	if lerr != nil {
		return nil, nil, errors.Join(err, lerr)
	}
	return last, err, nil
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
