package fdstore_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
	"github.com/chatd/chatd/internal/handover"
)

// TestMain lets the test binary play a small server (or, with
// HOLDER_ROLE=inflight, the probe of TestInflightLimitedAgreesWithTheKernel) that keeps its
// connections in a holder: started with HOLDER_ROLE=server it listens (or
// takes the listener and the held connections back from the store), prints
// what it did, and answers each line with its PID, the connection's ID and
// the line in capitals.
func TestMain(m *testing.M) {
	switch os.Getenv("HOLDER_ROLE") {
	case "server":
		if err := holderServer(); err != nil {
			fmt.Fprintln(os.Stderr, "holder server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "inflight":
		if err := inflightProbe(); err != nil {
			fmt.Fprintln(os.Stderr, "inflight probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func holderServer() error {
	fdstoretest.SetListenPID()
	files := fdstore.Inherited()
	n, err := fdstore.NewNotifier()
	if err != nil {
		return err
	}
	var ln net.Listener
	if f := files.Take(fdstore.ListenerName); f != nil {
		if ln, err = fdstore.Listener(f); err != nil {
			return err
		}
	} else {
		addr := cmp.Or(os.Getenv("HOLDER_ADDR"), "127.0.0.1:0")
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		if err := n.Store(fdstore.ListenerName, ln.(*net.TCPListener), true); err != nil {
			return err
		}
	}
	shards := files.TakePrefix(fdstore.HolderPrefix)
	var oldNames []string
	for _, f := range shards {
		oldNames = append(oldNames, f.Name())
	}
	held, errs := fdstore.Drain(shards)
	h, err := fdstore.NewHolder(n, fdstore.HolderOptions{})
	if err != nil {
		return err
	}
	var maxID atomic.Uint64
	for _, c := range held {
		if err := h.Add(c.ID, c.Conn.(syscall.Conn)); err != nil {
			return err
		}
		if c.ID > maxID.Load() {
			maxID.Store(c.ID)
		}
	}
	if err := h.Flush(); err != nil {
		return err
	}
	for _, name := range oldNames { // held again by the new holder: drop the old
		if err := n.Remove(name); err != nil {
			return err
		}
	}
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	say("addr %s drained %d errors %d", ln.Addr(), len(held), len(errs))
	for _, e := range errs {
		say("error %v", e)
	}
	live := &liveConns{m: map[uint64]net.Conn{}}
	if path := os.Getenv("HOLDER_SIGTERM_REPORT"); path != "" {
		go onSIGTERM(path, n, h, live)
	}
	for _, c := range held {
		live.add(c.ID, c.Conn)
		go holderServe(h, live, c.ID, c.Conn)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		id := maxID.Add(1)
		if err := h.Add(id, c.(syscall.Conn)); err != nil {
			return err
		}
		live.add(id, c)
		go holderServe(h, live, id, c)
	}
}

type liveConns struct {
	mu sync.Mutex
	m  map[uint64]net.Conn
}

func (l *liveConns) add(id uint64, c net.Conn) { l.mu.Lock(); l.m[id] = c; l.mu.Unlock() }
func (l *liveConns) remove(id uint64)          { l.mu.Lock(); delete(l.m, id); l.mu.Unlock() }

// onSIGTERM does what chatd will: ask systemd whether this is a restart;
// if so leave everything held and exit, if not tell every client, close it
// and leave nothing in the store. It writes what it decided to path.
func onSIGTERM(path string, n *fdstore.Notifier, h *fdstore.Holder, live *liveConns) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	planned, err := handover.PlannedRestart(ctx, "")
	switch {
	case err != nil:
		os.WriteFile(path, []byte("error: "+err.Error()+"\n"), 0o644)
	case planned:
		os.WriteFile(path, []byte("restart\n"), 0o644)
		h.Close()
		os.Exit(0)
	default:
		os.WriteFile(path, []byte("stop\n"), 0o644)
	}
	live.mu.Lock()
	for _, c := range live.m {
		io.WriteString(c, "SHUTDOWN\n")
		fdstore.CloseHeld(c)
	}
	live.mu.Unlock()
	h.Discard()
	n.Remove(fdstore.ListenerName)
	os.Exit(0)
}

func holderServe(h *fdstore.Holder, live *liveConns, id uint64, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			live.remove(id)
			h.Forget(id)
			fdstore.CloseHeld(c)
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch line {
		case "SYNC":
			err := h.Flush()
			fmt.Fprintf(c, "SYNCED %d %v\n", h.Stats().Live, err)
		case "BYE":
			fmt.Fprintf(c, "BYE\n")
			live.remove(id)
			h.Forget(id)
			fdstore.CloseHeld(c)
			return
		default:
			fmt.Fprintf(c, "%d %d %s\n", os.Getpid(), id, strings.ToUpper(line))
		}
	}
}
