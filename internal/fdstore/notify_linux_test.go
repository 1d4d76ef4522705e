package fdstore_test

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"listener", true},
		{"conns.abc-12-1.0", true},
		{strings.Repeat("x", 255), true},
		{"", false},
		{strings.Repeat("x", 256), false},
		{"a:b", false},
		{"a b", false},
		{"a\nFDSTOREREMOVE=1", false},
		{"é", false},
	} {
		if err := fdstore.ValidName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func sameFile(t *testing.T, a, b *os.File) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// The exact messages PID 1 gets, and that the descriptor it keeps is the
// one sent.
func TestNotifierStoreAndRemove(t *testing.T) {
	store := fdstoretest.New(t)
	n, err := fdstore.NewNotifierAt(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := n.Store("polled", r, true); err != nil {
		t.Fatal(err)
	}
	if err := n.Store("unpolled", w, false); err != nil {
		t.Fatal(err)
	}
	if err := n.Store("bad:name", w, false); err == nil {
		t.Fatal("Store accepted a name with ':'")
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == 2 }) {
		t.Fatalf("store holds %q", store.Names())
	}
	es := store.Entries()
	dups := store.Dup(t, "")
	defer dups[0].Close()
	defer dups[1].Close()
	if es[0].Name != "polled" || !es[0].Poll || !sameFile(t, dups[0], r) ||
		es[1].Name != "unpolled" || es[1].Poll || !sameFile(t, dups[1], w) {
		t.Fatalf("entries %+v", es)
	}
	if err := n.Remove("polled"); err != nil {
		t.Fatal(err)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == 1 && es[0].Name == "unpolled" }) {
		t.Fatalf("after remove the store holds %q", store.Names())
	}
	want := []string{
		"FDSTORE=1\nFDNAME=polled\n",
		"FDSTORE=1\nFDNAME=unpolled\nFDPOLL=0\n",
		"FDSTOREREMOVE=1\nFDNAME=polled\n",
	}
	got := store.Messages()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("messages %q, want %q", got, want)
	}
}

func TestNewNotifierNeedsNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if _, err := fdstore.NewNotifier(); err != fdstore.ErrNoNotifySocket {
		t.Fatalf("NewNotifier without NOTIFY_SOCKET: %v", err)
	}
}

// A holder message that is not what the holder writes still gives its
// descriptors back, as ID 0, with an error: the server tells those
// clients and closes them instead of leaking them.
func TestDrainReportsBadMessages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		nfds    int
	}{
		{"unknown version", []byte{9, 1, 0, 0, 0, 0, 0, 0, 0}, 1},
		{"fewer IDs than descriptors", binary.LittleEndian.AppendUint64([]byte{1}, 7), 2},
		{"no payload", []byte{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pair[1])
			var fds []int
			for range tc.nfds {
				s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(s[0])
				defer unix.Close(s[1])
				fds = append(fds, s[0])
			}
			if err := unix.Sendmsg(pair[1], tc.payload, unix.UnixRights(fds...), nil, 0); err != nil {
				t.Fatal(err)
			}
			held, errs := fdstore.Drain([]*os.File{os.NewFile(uintptr(pair[0]), "conns.test.0")})
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			if len(held) != tc.nfds {
				t.Fatalf("got %d connections back, want %d", len(held), tc.nfds)
			}
			for _, h := range held {
				if h.ID != 0 {
					t.Fatalf("ID %d from a bad message, want 0", h.ID)
				}
				h.Conn.Close()
			}
		})
	}
}
