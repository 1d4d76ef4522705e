package handover

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// The hand-over memfd goes into the fd store and comes back whole, read
// from its start whatever the offset of the descriptor PID 1 kept.
func TestStateThroughTheFDStore(t *testing.T) {
	store := fdstoretest.New(t)
	n, err := fdstore.NewNotifierAt(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	f, err := WriteFile(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store(fdstore.StateName, f, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == 1 }) {
		t.Fatalf("store holds %q", store.Names())
	}
	files := store.Dup(t, fdstore.StateName)
	// Move the shared offset: ReadFile must not depend on it.
	if _, err := files[0].Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	got, problems, err := ReadFile(files[0])
	if err != nil || len(problems) != 0 {
		t.Fatalf("ReadFile: %v %v", err, problems)
	}
	equalState(t, got, sampleState())
	if err := n.Remove(fdstore.StateName); err != nil {
		t.Fatal(err)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == 0 }) {
		t.Fatalf("after remove the store holds %q", store.Names())
	}
}
