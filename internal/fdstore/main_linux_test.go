package fdstore_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// TestMain lets the test binary play a small server that keeps its
// connections in a holder: started with HOLDER_ROLE=server it listens (or
// takes the listener and the held connections back from the store), prints
// what it did, and answers each line with its PID, the connection's ID and
// the line in capitals.
func TestMain(m *testing.M) {
	if os.Getenv("HOLDER_ROLE") == "server" {
		if err := holderServer(); err != nil {
			fmt.Fprintln(os.Stderr, "holder server:", err)
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
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
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
	for _, c := range held {
		go holderServe(h, c.ID, c.Conn)
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
		go holderServe(h, id, c)
	}
}

func holderServe(h *fdstore.Holder, id uint64, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
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
			h.Forget(id)
			fdstore.CloseHeld(c)
			return
		default:
			fmt.Fprintf(c, "%d %d %s\n", os.Getpid(), id, strings.ToUpper(line))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
