package load

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// sourceAddrs is how many distinct local addresses SpreadSource rotates
// over: 127.1.0.1 … 127.1.255.254.
const sourceAddrs = 256 * 254

// sourceIP returns the k-th source address of the rotation.
func sourceIP(k int) netip.Addr {
	n := k % sourceAddrs
	if n < 0 {
		n += sourceAddrs
	}
	return netip.AddrFrom4([4]byte{127, 1, byte(n / 254), byte(n%254 + 1)})
}

type dialer struct {
	target netip.AddrPort
	cfg    Config
}

// dial opens connection number i.
func (d *dialer) dial(ctx context.Context, i int) (*net.TCPConn, error) {
	nd := net.Dialer{Timeout: d.cfg.DialTimeout, KeepAlive: -1}
	if d.cfg.SpreadSource && d.target.Addr().Is4() {
		nd.LocalAddr = &net.TCPAddr{IP: sourceIP(d.cfg.SourceOffset + i).AsSlice()}
		nd.Control = bindAddressNoPort
	}
	c, err := nd.DialContext(ctx, "tcp", d.target.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// dialAll opens cfg.Conns connections with at most cfg.DialConcurrency
// dials in flight. conns[i] is nil where the dial failed; each failure is
// counted in failed and logged.
func (d *dialer) dialAll(ctx context.Context, connected, failed *atomic.Int64, errs *errLog) []*net.TCPConn {
	conns := make([]*net.TCPConn, d.cfg.Conns)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(d.cfg.DialConcurrency, d.cfg.Conns) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				if ctx.Err() != nil {
					failed.Add(1)
					continue
				}
				c, err := d.dial(ctx, i)
				if err != nil {
					failed.Add(1)
					if ctx.Err() == nil {
						errs.add("dial %d: %v", i, err)
					}
					continue
				}
				conns[i] = c
				connected.Add(1)
			}
		})
	}
	wg.Wait()
	return conns
}

// closeAll closes every connection that was opened.
func closeAll(conns []*net.TCPConn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// ticker calls f every interval until stop is closed. It returns at once if
// f is nil.
func ticker(f func(), interval time.Duration, stop <-chan struct{}) {
	if f == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			f()
		}
	}
}
