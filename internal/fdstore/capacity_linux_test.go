package fdstore_test

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// chatd's largest configuration: 19,500 connections must fit in the holder
// with the default options and all come back. The same socket is added
// under every ID: each addition is its own descriptor in flight, which is
// what costs buffer space, and the test stays within the open-file limit.
func TestHolderHolds19500(t *testing.T) {
	for _, tc := range []struct {
		name   string
		buffer int
	}{
		{"default buffer", 0},
		// The kernel doubles what it is asked: this is a shard with
		// the kernel's default net.core.wmem_default, 212992 bytes.
		{"small buffer", 212992 / 2},
	} {
		t.Run(tc.name, func(t *testing.T) { holdMany(t, 19500, tc.buffer) })
	}
}

func holdMany(t *testing.T, total, buffer int) {
	store := fdstoretest.New(t)
	n, err := fdstore.NewNotifierAt(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h, err := fdstore.NewHolder(n, fdstore.HolderOptions{SendBuffer: buffer})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(pair[0]), "a"), os.NewFile(uintptr(pair[1]), "b")
	defer a.Close()
	defer b.Close()
	start := time.Now()
	for i := range total {
		if err := h.Add(uint64(i+1), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	added := time.Since(start)
	st := h.Stats()
	if st.Sent != uint64(total) {
		t.Fatalf("sent %d of %d: %+v", st.Sent, total, st)
	}
	if !store.WaitFor(10*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == st.Shards }) {
		t.Fatalf("store holds %d entries, want %d", len(store.Entries()), st.Shards)
	}
	start = time.Now()
	files := store.Dup(t, fdstore.HolderPrefix)
	held, errs := fdstore.Drain(files)
	drained := time.Since(start)
	for _, err := range errs {
		t.Error(err)
	}
	for _, c := range held {
		c.Conn.Close()
	}
	if len(held) != total {
		t.Fatalf("drained %d of %d", len(held), total)
	}
	t.Logf("%d held in %d shard(s), %d messages, %d full buffers; add+flush %v, drain %v", total, st.Shards, st.Messages, st.Full, added, drained)
}

// BenchmarkAccept measures what holding costs the accept loop: one op is
// a loopback connect and accept, plus Add when held.
func BenchmarkAccept(b *testing.B) {
	for _, held := range []bool{false, true} {
		name := "plain"
		if held {
			name = "held"
		}
		b.Run(name, func(b *testing.B) {
			store := fdstoretest.New(b)
			n, err := fdstore.NewNotifierAt(store.Path())
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			h, err := fdstore.NewHolder(n, fdstore.HolderOptions{RebuildMinDead: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			var id uint64
			b.ResetTimer()
			for b.Loop() {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				s, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				if held {
					id++
					if err := h.Add(id, s.(syscall.Conn)); err != nil {
						b.Fatal(err)
					}
					h.Forget(id)
					fdstore.CloseHeld(s)
				} else {
					s.Close()
				}
				c.Close()
			}
		})
	}
}
