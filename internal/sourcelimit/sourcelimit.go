// Package sourcelimit counts connections per source so one address cannot
// take every max_clients place.
//
// A source is the client's real address (after the PROXY protocol, so a
// load balancer is not one source): an IPv4 address as it is, an IPv6
// address by its /64, because one IPv6 host commonly holds a whole /64 and
// could otherwise pick a fresh address per connection. An IPv4-mapped IPv6
// address (a dual-stack socket's view of an IPv4 client) counts as its
// IPv4 address. Addresses that are not IP (a Unix socket) are not limited.
//
// Connections are always counted, also with no limit, so that a limit set
// by a reload applies at once to the clients already connected. The
// counter is a mutex-guarded map, sharded so that Release from many
// connection goroutines and Acquire on the accept loop rarely meet.
package sourcelimit

import (
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/chatd/chatd/internal/listen"
)

// Source is the key a connection is counted under; the zero Source is
// "not limited".
type Source struct{ addr netip.Addr }

// String is the source for logs: the IPv4 address or the IPv6 /64.
func (s Source) String() string {
	if !s.addr.IsValid() {
		return "-"
	}
	if s.addr.Is6() {
		return netip.PrefixFrom(s.addr, 64).String()
	}
	return s.addr.String()
}

// SourceOf is the source addr counts under.
func SourceOf(addr net.Addr) Source {
	ip, ok := listen.AddrIP(addr)
	if !ok {
		return Source{}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	return Source{ip}
}

const shards = 16

// Limiter counts connections per source against a limit. The zero value
// is not usable; use New.
type Limiter struct {
	max    atomic.Int64
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu     sync.Mutex
	counts map[Source]int
	_      [48]byte // pad to 64 bytes: shards on separate cache lines
}

// New returns a Limiter allowing max connections per source (0: no limit).
func New(max int) *Limiter {
	l := &Limiter{seed: maphash.MakeSeed()}
	l.max.Store(int64(max))
	for i := range l.shards {
		l.shards[i].counts = make(map[Source]int)
	}
	return l
}

// SetMax changes the limit (a reload). Connections beyond a lowered limit
// stay; new ones from that source are refused until it is below again.
func (l *Limiter) SetMax(max int) { l.max.Store(int64(max)) }

// Max is the limit in force (0: none).
func (l *Limiter) Max() int { return int(l.max.Load()) }

func (l *Limiter) shard(s Source) *shard {
	b := s.addr.As16()
	return &l.shards[maphash.Bytes(l.seed, b[:])%shards]
}

// Acquire counts a new connection from addr, unless its source is at the
// limit. It returns the source to Release when the connection ends (also
// when ok is false there is nothing to release).
func (l *Limiter) Acquire(addr net.Addr) (src Source, ok bool) {
	src = SourceOf(addr)
	if !src.addr.IsValid() {
		return src, true
	}
	max := int(l.max.Load())
	sh := l.shard(src)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n := sh.counts[src]
	if max > 0 && n >= max {
		return src, false
	}
	sh.counts[src] = n + 1
	return src, true
}

// Add counts a connection from addr whatever the limit: one already
// connected (taken over from the process before a restart), which the
// limit must see so that the next from its source is refused, but which
// is not disconnected for it. It returns the source to Release.
func (l *Limiter) Add(addr net.Addr) Source {
	src := SourceOf(addr)
	if !src.addr.IsValid() {
		return src
	}
	sh := l.shard(src)
	sh.mu.Lock()
	sh.counts[src]++
	sh.mu.Unlock()
	return src
}

// Release uncounts a connection Acquire or Add counted.
func (l *Limiter) Release(src Source) {
	if !src.addr.IsValid() {
		return
	}
	sh := l.shard(src)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch n := sh.counts[src]; {
	case n > 1:
		sh.counts[src] = n - 1
	case n == 1:
		delete(sh.counts, src)
	}
}

// Count is the number of connections counted for addr's source.
func (l *Limiter) Count(addr net.Addr) int {
	src := SourceOf(addr)
	if !src.addr.IsValid() {
		return 0
	}
	sh := l.shard(src)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.counts[src]
}

// Sources is the number of sources with at least one connection (a
// metric; it walks every shard).
func (l *Limiter) Sources() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.counts)
		sh.mu.Unlock()
	}
	return n
}
