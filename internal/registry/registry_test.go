package registry

import (
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

type fakeConn struct {
	mu      sync.Mutex
	reasons []string
}

func (f *fakeConn) Kick(reason string) {
	f.mu.Lock()
	f.reasons = append(f.reasons, reason)
	f.mu.Unlock()
}

var addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

func TestIDsStartAtOneAndNeverRepeat(t *testing.T) {
	r := New(nil)
	var ids []uint64
	for range 3 {
		c := NewClient(&fakeConn{}, addr, addr, time.Now())
		ids = append(ids, r.Add(c))
		r.Remove(c.ID)
	}
	if ids[0] != 1 || ids[1] != 2 || ids[2] != 3 {
		t.Fatalf("ids = %v, want 1 2 3", ids)
	}
	if r.Len() != 0 || r.Total() != 3 {
		t.Fatalf("Len %d Total %d, want 0 and 3", r.Len(), r.Total())
	}
}

func TestSnapshotSortedWithCounters(t *testing.T) {
	r := New(nil)
	start := time.Now()
	var clients []*Client
	for range 50 {
		c := NewClient(&fakeConn{}, addr, addr, start)
		r.Add(c)
		clients = append(clients, c)
	}
	r.Remove(clients[10].ID)
	clients[3].AddIn(100, start.Add(time.Second))
	clients[3].AddOut(120)
	snap := r.Snapshot()
	if len(snap) != 49 {
		t.Fatalf("snapshot has %d clients, want 49", len(snap))
	}
	for i := 1; i < len(snap); i++ {
		if snap[i-1].ID >= snap[i].ID {
			t.Fatalf("snapshot not sorted at %d: %d then %d", i, snap[i-1].ID, snap[i].ID)
		}
	}
	info, ok := r.Get(clients[3].ID)
	if !ok || info.BytesIn != 100 || info.BytesOut != 120 || !info.LastActiveAt.Equal(start.Add(time.Second)) {
		t.Fatalf("Get = %+v, %v", info, ok)
	}
	if info.RemoteAddr != "127.0.0.1:40000" {
		t.Fatalf("RemoteAddr = %q", info.RemoteAddr)
	}
	if _, ok := r.Get(clients[10].ID); ok {
		t.Fatal("removed client still found")
	}
}

func TestKick(t *testing.T) {
	r := New(nil)
	a, b := &fakeConn{}, &fakeConn{}
	ca, cb := NewClient(a, addr, addr, time.Now()), NewClient(b, addr, addr, time.Now())
	r.Add(ca)
	r.Add(cb)
	if err := r.Kick(ca.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if len(a.reasons) != 1 || a.reasons[0] != "spam" || len(b.reasons) != 0 {
		t.Fatalf("kicked %v / %v, want only a with spam", a.reasons, b.reasons)
	}
	if err := r.Kick(999, ""); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Kick(999) = %v, want ErrNotConnected", err)
	}
}

type fixedIDs struct{ next uint64 }

func (f *fixedIDs) Next() uint64 { f.next++; return f.next }

func TestCustomIDSource(t *testing.T) {
	r := New(&fixedIDs{next: 4096})
	if id := r.Add(NewClient(&fakeConn{}, addr, addr, time.Now())); id != 4097 {
		t.Fatalf("id = %d, want 4097", id)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New(nil)
	var wg sync.WaitGroup
	seen := make([]map[uint64]bool, 8)
	for w := range 8 {
		seen[w] = map[uint64]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				c := NewClient(&fakeConn{}, addr, addr, time.Now())
				id := r.Add(c)
				seen[w][id] = true
				c.AddIn(1, time.Now())
				r.Snapshot()
				r.Kick(id, "")
				r.Remove(id)
			}
		}()
	}
	wg.Wait()
	all := map[uint64]bool{}
	for _, s := range seen {
		for id := range s {
			if all[id] {
				t.Fatalf("id %d handed out twice", id)
			}
			all[id] = true
		}
	}
	if len(all) != 4000 || r.Len() != 0 {
		t.Fatalf("%d distinct ids, %d left; want 4000 and 0", len(all), r.Len())
	}
}

func BenchmarkSnapshot20k(b *testing.B) {
	r := New(nil)
	for range 20000 {
		r.Add(NewClient(&fakeConn{}, addr, addr, time.Now()))
	}
	b.ResetTimer()
	for b.Loop() {
		r.Snapshot()
	}
}

// fakeAddr is an address that is not TCP.
type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

// TestSnapshotAddressesAsString checks that the addresses Snapshot formats
// itself read exactly as net.Addr.String() does, for every kind of
// address a listener can produce.
func TestSnapshotAddressesAsString(t *testing.T) {
	addrs := []net.Addr{
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1).To4(), Port: 5605},
		&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 1}, // 16-byte IPv4-mapped form
		&net.TCPAddr{IP: net.ParseIP("::1"), Port: 65535},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::42"), Port: 443},
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "eth0"},
		&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 8080},
		&net.TCPAddr{Port: 9}, // no IP
		fakeAddr("pipe"),
		nil,
	}
	r := New(nil)
	for _, a := range addrs {
		r.Add(NewClient(&fakeConn{}, a, a, time.Now()))
	}
	snap := r.Snapshot()
	for i, a := range addrs {
		want := addrString(a)
		if snap[i].RemoteAddr != want || snap[i].LocalAddr != want {
			t.Errorf("address %d: snapshot says %q / %q, String() %q", i, snap[i].RemoteAddr, snap[i].LocalAddr, want)
		}
		if info, _ := r.Get(snap[i].ID); info.RemoteAddr != want {
			t.Errorf("address %d: Get says %q, String() %q", i, info.RemoteAddr, want)
		}
	}
}

func TestTotalsSumConnectedClients(t *testing.T) {
	r := New(nil)
	if got := r.Totals(); got != (Totals{}) {
		t.Fatalf("empty registry: %+v", got)
	}
	var clients []*Client
	for i := range 3 {
		c := NewClient(&fakeConn{}, addr, addr, time.Now())
		r.Add(c)
		c.AddIn(10*(i+1), time.Now())
		c.AddOut(100 * (i + 1))
		clients = append(clients, c)
	}
	if got, want := r.Totals(), (Totals{Connected: 3, BytesIn: 60, BytesOut: 600}); got != want {
		t.Fatalf("Totals() = %+v, want %+v", got, want)
	}
	r.Remove(clients[1].ID)
	if got, want := r.Totals(), (Totals{Connected: 2, BytesIn: 40, BytesOut: 400}); got != want {
		t.Fatalf("after a removal Totals() = %+v, want %+v", got, want)
	}
	var sumIn, sumOut uint64
	for _, in := range r.Snapshot() {
		sumIn, sumOut = sumIn+in.BytesIn, sumOut+in.BytesOut
	}
	if got := r.Totals(); got.BytesIn != sumIn || got.BytesOut != sumOut || got.Connected != r.Len() {
		t.Fatalf("Totals() = %+v, listing sums to %d/%d over %d", got, sumIn, sumOut, r.Len())
	}
}

// waitingIDs is a source that, like one waiting for its next block to
// reach the disk, blocks in Next until released.
type waitingIDs struct {
	next    uint64
	waiting chan struct{}
	release chan struct{}
}

func (w *waitingIDs) Next() uint64 {
	w.next++
	if w.next == 2 {
		close(w.waiting)
		<-w.release
	}
	return w.next
}

// A connection whose ID has to wait for the disk holds up that connection
// only: listing, looking up, kicking and removing clients go on.
func TestAddWaitingForAnIDBlocksNoReader(t *testing.T) {
	ids := &waitingIDs{waiting: make(chan struct{}), release: make(chan struct{})}
	r := New(ids)
	first := NewClient(&fakeConn{}, addr, addr, time.Now())
	r.Add(first)
	added := make(chan uint64)
	go func() { added <- r.Add(NewClient(&fakeConn{}, addr, addr, time.Now())) }()
	<-ids.waiting
	readers := make(chan struct{})
	go func() {
		defer close(readers)
		r.Len()
		r.Snapshot()
		r.Get(first.ID)
		r.Kick(first.ID, "bye")
		r.Each(func(*Client) {})
		r.Remove(first.ID)
	}()
	select {
	case <-readers:
	case <-time.After(10 * time.Second):
		t.Fatal("readers of the registry waited for an Add that was waiting for its ID")
	}
	close(ids.release)
	if id := <-added; id != 2 {
		t.Fatalf("id = %d, want 2", id)
	}
	if r.Len() != 1 {
		t.Fatalf("Len = %d, want 1", r.Len())
	}
}

// kickRecorder is a connection that leaves the registry when kicked, as
// a real one does once its notice is out, unless it is stuck.
type kickRecorder struct {
	r      *Registry
	id     uint64
	stuck  bool
	mu     sync.Mutex
	kicked []string
}

func (k *kickRecorder) Kick(reason string) {
	k.mu.Lock()
	k.kicked = append(k.kicked, reason)
	k.mu.Unlock()
	if !k.stuck {
		go k.r.Remove(k.id)
	}
}

func TestKickManyReachesEachOnceAndSaysWhoLeft(t *testing.T) {
	for _, tc := range []struct {
		name    string
		all     bool
		ids     []uint64
		want    []uint64 // kicked, in order
		missing []uint64
	}{
		{"all", true, nil, []uint64{1, 2, 3, 4, 5}, nil},
		{"some in the given order", false, []uint64{4, 2, 99}, []uint64{4, 2}, []uint64{99}},
		{"none connected", false, []uint64{98, 99}, nil, []uint64{98, 99}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(nil)
			conns := map[uint64]*kickRecorder{}
			for i := range 5 {
				k := &kickRecorder{r: r, stuck: i == 1} // client 2 never leaves
				k.id = r.Add(NewClient(k, addr, addr, time.Now()))
				conns[k.id] = k
			}
			kicked, missing := r.KickMany(tc.all, tc.ids, "bye")
			var got []uint64
			for _, k := range kicked {
				got = append(got, k.ID)
			}
			if !slices.Equal(got, tc.want) || !slices.Equal(missing, tc.missing) {
				t.Fatalf("kicked %v missing %v, want %v and %v", got, missing, tc.want, tc.missing)
			}
			for _, k := range kicked {
				if k.ID == 2 {
					continue
				}
				select {
				case <-k.Left:
				case <-time.After(10 * time.Second):
					t.Fatalf("client %d left the registry but Left was not closed", k.ID)
				}
			}
			for _, k := range kicked {
				select {
				case <-k.Left:
					if k.ID == 2 {
						t.Fatal("the stuck client is reported gone")
					}
				default:
				}
			}
			for id, c := range conns {
				c.mu.Lock()
				n := len(c.kicked)
				c.mu.Unlock()
				if want := slices.Contains(tc.want, id); (n == 1) != want || n > 1 {
					t.Errorf("client %d kicked %d times", id, n)
				}
			}
		})
	}
}
