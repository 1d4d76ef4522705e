package instance

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// After a crash there is no hand-over, but the crashed process kept its
// config in the store beside the held clients: a start onto a file broken
// meanwhile serves them on it (and new ones, also when none is held), the
// kept config follows every reload, and a stop leaves nothing in the
// store, so that a start after it fails on the broken file as a first
// start does.
func TestCrashOntoBrokenConfigKeepsServing(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)
	broken := errors.New(`file /etc/chatd/chatd.yaml: max_clients "lots": not a number`)
	loadBroken := func() (*config.Config, error) { return nil, broken }
	// afterCrash is what a process started now, after a kill -9 of old,
	// would make of the store and the broken file.
	afterCrash := func() (*config.Config, error, error) {
		in := newInheritance(fdstore.NewFiles(store.Dup(t, "")))
		defer in.files.CloseRest()
		return in.ConfigOrLastGood(loadBroken)
	}
	kept := func() []string {
		var names []string
		for _, n := range store.Names() {
			if strings.HasPrefix(n, fdstore.ConfigPrefix) {
				names = append(names, n)
			}
		}
		return names
	}

	old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	old.cfg.MaxClients = 123
	old.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	if !store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return len(kept()) == 1 }) {
		t.Fatalf("the store holds %q, want one kept config", store.Names())
	}
	// Nobody held yet: new clients still need a chatd to answer them.
	if cfg, why, err := afterCrash(); err != nil || why != broken || cfg.MaxClients != 123 {
		t.Fatalf("crash with no client held onto a broken config: cfg %+v, why %v, err %v", cfg, why, err)
	}

	c, err := net.Dial("tcp", old.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chat(t, c, "hi", "HI")
	waitUntil(t, "the client held", func() bool { return old.Survival().Held == 1 })
	cfg, why, err := afterCrash()
	if err != nil || why != broken || cfg.MaxClients != 123 || !strings.Contains(cfg.Origin, "before it ended") {
		t.Fatalf("crash onto a broken config with a client held: cfg %+v, why %v, err %v", cfg, why, err)
	}

	// A reload replaces the kept config (one entry, the new values).
	before := kept()
	next := *old.Config()
	next.MaxClients = 77
	old.SetConfigSource(func() (*config.Config, error) { return &next, nil })
	if _, err := old.Reload(); err != nil {
		t.Fatal(err)
	}
	if !store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { k := kept(); return len(k) == 1 && k[0] != before[0] }) {
		t.Fatalf("after a reload the store holds %q, want one kept config, not %q", store.Names(), before)
	}
	if cfg, _, err := afterCrash(); err != nil || cfg.MaxClients != 77 {
		t.Fatalf("after a reload the kept config has max_clients %v (err %v), want 77", cfg, err)
	}

	old.surv.plannedRestart = func(context.Context, string) (bool, error) { return false, nil } // a stop
	old.Stop()
	if !store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return len(store.Names()) == 0 }) {
		t.Fatalf("after the stop the store holds %q", store.Names())
	}
	if _, _, err := afterCrash(); err != broken {
		t.Fatalf("a start after the stop onto a broken config: err %v, want %v", err, broken)
	}
}
