// Package registry keeps the set of connected chat clients: who they are,
// when they came, what they have sent and received, and a handle to
// disconnect each of them. It is the one place the admin API reads from and
// the chat server writes to.
package registry

import (
	"cmp"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// ErrNotConnected is returned for an ID that is not in the registry.
var ErrNotConnected = errors.New("client not connected")

// Kicker is implemented by the connection behind a Client: Kick asks it to
// send the kick notice (with the reason) and close gracefully. It must not
// block.
type Kicker interface {
	Kick(reason string)
}

// Client is one connected client. Its counters may be updated while it is
// registered; read them through Info.
type Client struct {
	ID          uint64
	RemoteAddr  net.Addr
	LocalAddr   net.Addr
	ConnectedAt time.Time

	lastActive atomic.Int64 // unix nanoseconds
	bytesIn    atomic.Uint64
	bytesOut   atomic.Uint64
	conn       Kicker
}

// NewClient describes a connection that has just been accepted.
func NewClient(conn Kicker, remote, local net.Addr, now time.Time) *Client {
	c := &Client{}
	c.Init(conn, remote, local, now)
	return c
}

// Init fills in a Client embedded in a connection's own struct, saving an
// allocation per connection.
func (c *Client) Init(conn Kicker, remote, local net.Addr, now time.Time) {
	c.RemoteAddr, c.LocalAddr, c.ConnectedAt, c.conn = remote, local, now, conn
	c.lastActive.Store(now.UnixNano())
}

// AddIn records n bytes received at now.
func (c *Client) AddIn(n int, now time.Time) {
	c.bytesIn.Add(uint64(n))
	c.lastActive.Store(now.UnixNano())
}

// AddOut records n bytes sent.
func (c *Client) AddOut(n int) { c.bytesOut.Add(uint64(n)) }

// LastActive is when the client last sent something (or connected).
func (c *Client) LastActive() time.Time { return time.Unix(0, c.lastActive.Load()) }

// BytesIn is the number of bytes received from the client so far.
func (c *Client) BytesIn() uint64 { return c.bytesIn.Load() }

// BytesOut is the number of bytes sent to the client so far.
func (c *Client) BytesOut() uint64 { return c.bytesOut.Load() }

// Info is a point-in-time copy of a Client, safe to keep and print.
type Info struct {
	ID           uint64
	RemoteAddr   string
	LocalAddr    string
	ConnectedAt  time.Time
	LastActiveAt time.Time
	BytesIn      uint64
	BytesOut     uint64
}

// Info copies the client's current state.
func (c *Client) Info() Info {
	return Info{
		ID:           c.ID,
		RemoteAddr:   addrString(c.RemoteAddr),
		LocalAddr:    addrString(c.LocalAddr),
		ConnectedAt:  c.ConnectedAt,
		LastActiveAt: time.Unix(0, c.lastActive.Load()),
		BytesIn:      c.bytesIn.Load(),
		BytesOut:     c.bytesOut.Load(),
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// IDSource hands out client IDs. Next must return strictly increasing values
// and be safe for concurrent use. It may block (a source that saves its
// reservations to disk waits when they run out); the registry does not
// hold the lock its readers need while it does.
type IDSource interface {
	Next() uint64
}

// Counter is an in-memory IDSource that starts at 1.
type Counter struct{ n atomic.Uint64 }

// Next returns the next ID.
func (c *Counter) Next() uint64 { return c.n.Add(1) }

// Registry is the set of connected clients, safe for concurrent use.
type Registry struct {
	ids IDSource

	// addMu orders Adds: IDs are taken and clients inserted one Add at a
	// time. It is separate from mu so that a source waiting for the disk
	// holds up the next connection only, never a listing, a kick or a
	// client leaving.
	addMu sync.Mutex

	mu      sync.RWMutex
	clients map[uint64]*Client
	// left holds, for clients a bulk kick waits for, a channel closed when
	// the client leaves. It lives here rather than in Client because every
	// idle connection embeds a Client and most are never waited for.
	left map[uint64]chan struct{}

	total atomic.Uint64 // clients ever added
}

// New returns an empty registry that numbers clients with ids (a Counter
// starting at 1 if nil).
func New(ids IDSource) *Registry {
	if ids == nil {
		ids = &Counter{}
	}
	return &Registry{ids: ids, clients: make(map[uint64]*Client)}
}

// Add gives c the next ID and registers it. It returns the ID.
func (r *Registry) Add(c *Client) uint64 {
	// The ID is taken under addMu so that registry order and ID order
	// agree: a listing never shows client N+1 without an earlier client N
	// having been added first.
	r.addMu.Lock()
	id := r.ids.Next()
	c.ID = id
	r.mu.Lock()
	r.clients[id] = c
	r.mu.Unlock()
	r.addMu.Unlock()
	r.total.Add(1)
	return id
}

// Remove unregisters the client with the given ID, if present.
func (r *Registry) Remove(id uint64) {
	r.mu.Lock()
	if c, ok := r.clients[id]; ok {
		delete(r.clients, id)
		if ch, ok := r.left[c.ID]; ok {
			delete(r.left, c.ID)
			close(ch)
		}
	}
	r.mu.Unlock()
}

// Len is the number of clients connected now.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.clients)
}

// Totals are sums over the clients connected at one moment.
type Totals struct {
	Connected         int
	BytesIn, BytesOut uint64
}

// Totals sums the connected clients' counters without building a listing:
// what a status request or a metrics scrape needs, with tens of thousands
// connected.
func (r *Registry) Totals() Totals {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t := Totals{Connected: len(r.clients)}
	for _, c := range r.clients {
		t.BytesIn += c.bytesIn.Load()
		t.BytesOut += c.bytesOut.Load()
	}
	return t
}

// Total is the number of clients ever added.
func (r *Registry) Total() uint64 { return r.total.Load() }

// Get returns the client's current state.
func (r *Registry) Get(id uint64) (Info, bool) {
	r.mu.RLock()
	c, ok := r.clients[id]
	r.mu.RUnlock()
	if !ok {
		return Info{}, false
	}
	return c.Info(), true
}

// Snapshot returns every connected client, sorted by ID.
//
// It is what a listing of every client costs the server, with tens of
// thousands connected, so it sorts small (ID, client) pairs rather than
// the Infos and formats all addresses into one shared string instead of
// allocating several strings per client.
func (r *Registry) Snapshot() []Info {
	r.mu.RLock()
	refs := make([]clientRef, 0, len(r.clients))
	for id, c := range r.clients {
		refs = append(refs, clientRef{id, c})
	}
	r.mu.RUnlock()
	slices.SortFunc(refs, func(a, b clientRef) int { return cmp.Compare(a.id, b.id) })

	// Addresses first, all into one buffer: ~22 bytes each for IPv4.
	buf := make([]byte, 0, len(refs)*48)
	ends := make([]int32, 0, 2*len(refs))
	for _, ref := range refs {
		buf = appendAddr(buf, ref.c.RemoteAddr)
		ends = append(ends, int32(len(buf)))
		buf = appendAddr(buf, ref.c.LocalAddr)
		ends = append(ends, int32(len(buf)))
	}
	// buf is not touched again: the strings may share its memory.
	text := unsafe.String(unsafe.SliceData(buf), len(buf))
	out := make([]Info, len(refs))
	start, prevLocal := 0, ""
	for i, ref := range refs {
		c := ref.c
		remote := text[start:ends[2*i]]
		local := text[ends[2*i]:ends[2*i+1]]
		start = int(ends[2*i+1])
		if local == prevLocal {
			local = prevLocal // most clients share the listener's address
		}
		prevLocal = local
		out[i] = Info{
			ID:           ref.id,
			RemoteAddr:   remote,
			LocalAddr:    local,
			ConnectedAt:  c.ConnectedAt,
			LastActiveAt: time.Unix(0, c.lastActive.Load()),
			BytesIn:      c.bytesIn.Load(),
			BytesOut:     c.bytesOut.Load(),
		}
	}
	return out
}

type clientRef struct {
	id uint64
	c  *Client
}

// appendAddr appends a.String() to b, without allocating for TCP
// addresses.
func appendAddr(b []byte, a net.Addr) []byte {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return append(b, addrString(a)...)
	}
	var ip netip.Addr
	if ip4 := ta.IP.To4(); ip4 != nil {
		ip = netip.AddrFrom4([4]byte(ip4)) // net.IP prints v4-in-v6 as v4 too
	} else if len(ta.IP) == net.IPv6len {
		ip = netip.AddrFrom16([16]byte(ta.IP)).WithZone(ta.Zone)
	} else {
		return append(b, ta.String()...)
	}
	if ip.Is6() {
		b = append(b, '[')
		b = ip.AppendTo(b)
		b = append(b, ']')
	} else {
		b = ip.AppendTo(b)
	}
	b = append(b, ':')
	return strconv.AppendInt(b, int64(ta.Port), 10)
}

// Kick asks the client with the given ID to disconnect, telling it reason
// (which may be empty). It returns ErrNotConnected for an unknown ID. The
// connection closes asynchronously; other clients are not touched.
func (r *Registry) Kick(id uint64, reason string) error {
	r.mu.RLock()
	c, ok := r.clients[id]
	r.mu.RUnlock()
	if !ok {
		return ErrNotConnected
	}
	c.conn.Kick(reason)
	return nil
}

// Kicked is a client a bulk kick reached. Left is closed once it has left
// the registry, that is once its connection has ended.
type Kicked struct {
	ID   uint64
	Left <-chan struct{}
}

// KickMany asks several clients to disconnect at once, telling them reason:
// every connected client if all, else those in ids (missing lists the IDs
// that were not connected). Each connection sends its notice and closes on
// its own, so they all close concurrently; the caller waits on Left for as
// long as it cares to. kicked is sorted by ID for all, else in the order
// of ids.
func (r *Registry) KickMany(all bool, ids []uint64, reason string) (kicked []Kicked, missing []uint64) {
	var targets []*Client
	r.mu.Lock() // writes: the Left channels are made here
	if all {
		targets = make([]*Client, 0, len(r.clients))
		for _, c := range r.clients {
			targets = append(targets, c)
		}
		slices.SortFunc(targets, func(a, b *Client) int { return cmp.Compare(a.ID, b.ID) })
	} else {
		targets = make([]*Client, 0, len(ids))
		for _, id := range ids {
			if c, ok := r.clients[id]; ok {
				targets = append(targets, c)
			} else {
				missing = append(missing, id)
			}
		}
	}
	kicked = make([]Kicked, len(targets))
	if r.left == nil && len(targets) > 0 {
		r.left = make(map[uint64]chan struct{}, len(targets))
	}
	for i, c := range targets {
		ch, ok := r.left[c.ID]
		if !ok {
			ch = make(chan struct{})
			r.left[c.ID] = ch
		}
		kicked[i] = Kicked{ID: c.ID, Left: ch}
	}
	r.mu.Unlock()
	// Kick must not block: the lock is not needed for it, and readers
	// should not wait while thousands are asked.
	for _, c := range targets {
		c.conn.Kick(reason)
	}
	return kicked, missing
}

// Each calls f for every connected client, without holding the registry's
// lock while f runs.
func (r *Registry) Each(f func(*Client)) {
	r.mu.RLock()
	all := make([]*Client, 0, len(r.clients))
	for _, c := range r.clients {
		all = append(all, c)
	}
	r.mu.RUnlock()
	for _, c := range all {
		f(c)
	}
}

// Restore sets the counters of a client taken over from an earlier chatd
// process, before it is registered with AddRestored.
func (c *Client) Restore(in, out uint64, lastActive time.Time) {
	c.bytesIn.Store(in)
	c.bytesOut.Store(out)
	if !lastActive.IsZero() {
		c.lastActive.Store(lastActive.UnixNano())
	}
}

// AddRestored registers a client that keeps the ID an earlier chatd
// process gave it (c.ID is set). It reports false, registering nothing,
// if that ID is taken.
func (r *Registry) AddRestored(c *Client) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.clients[c.ID]; taken || c.ID == 0 {
		return false
	}
	r.clients[c.ID] = c
	r.total.Add(1)
	return true
}
