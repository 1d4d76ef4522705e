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
	return in
}

// handedOverClients reports whether a planned restart handed clients to
// this process.
func (in *Inheritance) handedOverClients() bool {
	return in != nil && in.state != nil && len(in.state.Conns) > 0
}

// ConfigOrLastGood loads the config. When that fails and the previous
// process handed clients over with its config, a restart onto a broken
// config must not become an outage: it returns that last good config and,
// as broken, why the one on disk was refused. Without handed-over clients
// (a first start) the error stands, as always.
func (in *Inheritance) ConfigOrLastGood(load func() (*config.Config, error)) (cfg *config.Config, broken, err error) {
	cfg, err = load()
	if err == nil || !in.handedOverClients() || len(in.state.Config) == 0 {
		return cfg, nil, err
	}
	last, lerr := config.FromDocument(in.state.Config, "the last good config (handed over by chatd "+in.state.Version+")")
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
