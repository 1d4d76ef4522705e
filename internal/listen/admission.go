package listen

import (
	"container/list"
	"net"
	"net/netip"
	"time"
)

// A pending handshake: a connection accepted and not yet delivered.
type pending struct {
	conn    net.Conn
	source  netip.Prefix
	started time.Time
	elem    *list.Element // in admission.queue while the handshake runs
	// gaveWay is set when the listener closed the connection to make room
	// for a newer one: the handshake's own error then is not the reason.
	gaveWay Reason
}

// admission is who may hold a handshake slot, guarded by the listener's
// mutex. Handshakes in progress are kept oldest first. When a new
// connection would exceed a bound, an older handshake gives way (is
// closed) instead of the new one waiting: a peer that connects and sends
// nothing would otherwise hold its slot for the whole timeout, and a few
// hundred of them, reconnecting as they are timed out, would keep every
// honest client out. nginx reclaims its oldest idle connections the same
// way when it runs out. An honest handshake takes a round trip or two; a
// stalled one is, by the time the bound is reached, almost always the
// oldest.
type admission struct {
	maxPending   int // handshakes in progress plus finished ones not yet accepted
	maxPerSource int // handshakes in progress from one source; 0 = no bound

	queue    list.List // *pending, oldest first
	bySource map[netip.Prefix]int
	waiting  int // finished, waiting for Accept: honest, never made to give way
}

func newAdmission(maxPending, maxPerSource int) *admission {
	return &admission{maxPending: maxPending, maxPerSource: maxPerSource, bySource: make(map[netip.Prefix]int)}
}

// room reports whether a new connection can be taken in at all: not while
// every slot holds a finished connection the server has not accepted yet
// (the server is not accepting; the kernel's backlog is the place to wait).
func (a *admission) room() bool { return a.waiting < a.maxPending }

// admit adds p, first making the handshakes that must give way for it do
// so (removed here; the caller closes them).
func (a *admission) admit(p *pending) (gaveWay []*pending) {
	if a.maxPerSource > 0 && a.bySource[p.source] >= a.maxPerSource {
		for e := a.queue.Front(); e != nil; e = e.Next() {
			if old := e.Value.(*pending); old.source == p.source {
				gaveWay = append(gaveWay, a.giveWay(old, ReasonSourceFull))
				break
			}
		}
	}
	if a.queue.Len()+a.waiting >= a.maxPending && a.queue.Len() > 0 {
		gaveWay = append(gaveWay, a.giveWay(a.queue.Front().Value.(*pending), ReasonDisplaced))
	}
	p.elem = a.queue.PushBack(p)
	a.bySource[p.source]++
	return gaveWay
}

func (a *admission) giveWay(p *pending, why Reason) *pending {
	a.remove(p)
	p.gaveWay = why
	return p
}

// remove takes p out of the handshakes in progress (finished, failed or
// giving way); false if it was out already.
func (a *admission) remove(p *pending) bool {
	if p.elem == nil {
		return false
	}
	a.queue.Remove(p.elem)
	p.elem = nil
	if n := a.bySource[p.source] - 1; n > 0 {
		a.bySource[p.source] = n
	} else {
		delete(a.bySource, p.source)
	}
	return true
}

func (a *admission) pending() int { return a.queue.Len() + a.waiting }

// sourceOf is the source a connection counts against: its IPv4 address,
// or its IPv6 /64 (one host is given a whole /64, so counting single IPv6
// addresses would bound nothing). An address that is not IP counts as one
// source of its own.
func sourceOf(c net.Conn) netip.Prefix {
	ip, ok := AddrIP(c.RemoteAddr())
	if !ok {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}
