package sourcelimit

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
)

func addr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestSourceOf(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{addr("192.0.2.1:5605"), "192.0.2.1"},
		{addr("[::ffff:192.0.2.1]:5605"), "192.0.2.1"},
		{addr("[2001:db8:1:2:aaaa::1]:1"), "2001:db8:1:2::/64"},
		{addr("[2001:db8:1:2:ffff:ffff:ffff:ffff]:1"), "2001:db8:1:2::/64"},
		{addr("[fe80::1%lo]:1"), "fe80::/64"},
		{addr("[::1]:1"), "::/64"},
		{&net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, "-"},
		{nil, "-"},
		{stringAddr("203.0.113.5:9"), "203.0.113.5"}, // any net.Addr spelling host:port
	}
	for _, tt := range tests {
		if got := SourceOf(tt.addr).String(); got != tt.want {
			t.Errorf("SourceOf(%v) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

type stringAddr string

func (s stringAddr) Network() string { return "tcp" }
func (s stringAddr) String() string  { return string(s) }

// The limit per source: a table of connects (true: Acquire, false:
// Release of the latest held from that address) and what each Acquire
// must answer.
func TestLimit(t *testing.T) {
	type step struct {
		addr    string
		acquire bool
		want    bool
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"no limit", 0, []step{
			{"192.0.2.1:1", true, true}, {"192.0.2.1:2", true, true}, {"192.0.2.1:3", true, true},
		}},
		{"IPv4 per address", 2, []step{
			{"192.0.2.1:1", true, true}, {"192.0.2.1:2", true, true}, {"192.0.2.1:3", true, false},
			{"192.0.2.2:1", true, true}, // another address still gets in
			{"192.0.2.1:1", false, false}, {"192.0.2.1:4", true, true},
		}},
		{"IPv4-mapped counts as IPv4", 1, []step{
			{"192.0.2.1:1", true, true}, {"[::ffff:192.0.2.1]:2", true, false},
		}},
		{"IPv6 per /64", 2, []step{
			{"[2001:db8:0:1::1]:1", true, true}, {"[2001:db8:0:1::2]:1", true, true},
			{"[2001:db8:0:1:ffff::9]:1", true, false},
			{"[2001:db8:0:2::1]:1", true, true}, // the next /64 is another source
		}},
		{"unix peers are not limited", 1, []step{
			{"unix", true, true}, {"unix", true, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(tt.max)
			held := map[Source][]Source{}
			for i, st := range tt.steps {
				var a net.Addr = &net.UnixAddr{Name: "/x", Net: "unix"}
				if st.addr != "unix" {
					a = addr(st.addr)
				}
				src := SourceOf(a)
				if !st.acquire {
					h := held[src]
					l.Release(h[len(h)-1])
					held[src] = h[:len(h)-1]
					continue
				}
				got, ok := l.Acquire(a)
				if ok != st.want {
					t.Fatalf("step %d: Acquire(%s) = %v, want %v", i, st.addr, ok, st.want)
				}
				if ok {
					held[src] = append(held[src], got)
				}
			}
			for src, h := range held {
				for _, s := range h {
					l.Release(s)
				}
				_ = src
			}
			if n := l.Sources(); n != 0 {
				t.Errorf("%d sources left after releasing everything", n)
			}
		})
	}
}

// A limit lowered by a reload applies to the connections already counted.
func TestSetMaxAppliesToConnected(t *testing.T) {
	l := New(0)
	a := addr("192.0.2.1:1")
	var held []Source
	for range 3 {
		s, ok := l.Acquire(a)
		if !ok {
			t.Fatal("refused with no limit")
		}
		held = append(held, s)
	}
	l.SetMax(2)
	if _, ok := l.Acquire(a); ok {
		t.Fatal("a 4th connection admitted with 3 connected and the limit lowered to 2")
	}
	l.Release(held[0])
	l.Release(held[1])
	if _, ok := l.Acquire(a); !ok {
		t.Fatal("refused at 1 connected under a limit of 2")
	}
	if l.Count(a) != 2 || l.Max() != 2 {
		t.Fatalf("Count = %d, Max = %d; want 2, 2", l.Count(a), l.Max())
	}
	l.Release(Source{}) // the zero Source releases nothing
	l.Release(SourceOf(addr("192.0.2.9:1")))
	if l.Count(addr("192.0.2.9:1")) != 0 {
		t.Fatal("releasing an uncounted source made a count")
	}
}

// Many goroutines acquiring and releasing at once never let a source past
// its limit and leave nothing counted (run under -race).
func TestConcurrent(t *testing.T) {
	const max, workers, rounds = 3, 16, 500
	l := New(max)
	var wg sync.WaitGroup
	var mu sync.Mutex
	inUse := map[Source]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := addr(fmt.Sprintf("192.0.2.%d:1", w%4))
			for range rounds {
				s, ok := l.Acquire(a)
				if !ok {
					continue
				}
				// Held from after Acquire to before Release, so
				// inUse never exceeds what the limiter counts.
				mu.Lock()
				inUse[s]++
				n := inUse[s]
				mu.Unlock()
				if n > max {
					t.Errorf("%s has %d connections, limit %d", s, n, max)
				}
				runtime.Gosched()
				mu.Lock()
				inUse[s]--
				mu.Unlock()
				l.Release(s)
			}
		}()
	}
	wg.Wait()
	if n := l.Sources(); n != 0 {
		t.Fatalf("%d sources still counted", n)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l := New(10)
	addrs := make([]net.Addr, 1024)
	for i := range addrs {
		addrs[i] = addr(fmt.Sprintf("10.%d.%d.1:5605", i/256, i%256))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s, ok := l.Acquire(addrs[i%len(addrs)])
			if ok {
				l.Release(s)
			}
			i++
		}
	})
}

// Add counts beyond the limit (a connection that is already there), and
// what it counted is released like what Acquire counted.
func TestAddCountsBeyondTheLimit(t *testing.T) {
	l := New(1)
	a := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}
	for range 3 {
		l.Add(a)
	}
	if n := l.Count(a); n != 3 {
		t.Fatalf("Count = %d after three Adds, want 3", n)
	}
	if _, ok := l.Acquire(a); ok {
		t.Fatal("Acquire let a new connection in from a source over its limit")
	}
	for range 3 {
		l.Release(SourceOf(a))
	}
	if _, ok := l.Acquire(a); !ok {
		t.Fatal("Acquire refused after every added connection was released")
	}
	if src := l.Add(&net.UnixAddr{Name: "/x", Net: "unix"}); src != (Source{}) || l.Sources() != 1 {
		t.Fatalf("a non-IP address was counted: %v, %d sources", src, l.Sources())
	}
}
