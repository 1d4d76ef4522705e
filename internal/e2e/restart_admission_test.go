//go:build unix

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// probeTally counts what connection attempts made during restarts got.
type probeTally struct {
	mu       sync.Mutex
	answered int
	failures []string
}

func (p *probeTally) fail(format string, args ...any) {
	p.mu.Lock()
	p.failures = append(p.failures, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// dialEvery connects to addr every interval until stop, and checks that
// each connection is answered (not refused, not told the server is
// shutting down, not cut).
func (p *probeTally) dialEvery(addr string, interval time.Duration, n int, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			p.fail("dialler %d, probe %d: %v", n, i, err)
			continue
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		msg := fmt.Sprintf("probe %d.%d", n, i)
		fmt.Fprintf(c, "%s\n", msg)
		got, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		switch want := strings.ToUpper(msg) + "\n"; {
		case err != nil:
			p.fail("dialler %d, probe %d: read %q, %v", n, i, got, err)
		case got != want:
			p.fail("dialler %d, probe %d: got %q, want %q", n, i, got, want)
		default:
			p.mu.Lock()
			p.answered++
			p.mu.Unlock()
		}
	}
}

// Connections made while chatd restarts in place, again and again, are
// all served: none refused, none told the server is shutting down (a
// connection accepted while the hand-over begins goes to the next image),
// none cut.
func TestConnectionsDuringRestartsInPlaceAreServed(t *testing.T) {
	const restarts, diallers = 30, 4
	d := testbin.StartChatd(t, testbin.Options{})
	var p probeTally
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for n := range diallers {
		wg.Add(1)
		go p.dialEvery(d.Addr, 3*time.Millisecond, n, stop, &wg)
	}
	stopped := false
	stopAll := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopAll()
	for range restarts {
		restartInPlace(t, d)
	}
	stopAll()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.failures {
		if i == 10 {
			t.Errorf("… and %d more", len(p.failures)-10)
			break
		}
		t.Error(f)
	}
	if p.answered == 0 {
		t.Fatal("no probe was answered")
	}
	t.Logf("%d restarts in place, %d probes answered, %d failed", restarts, p.answered, len(p.failures))
}
