package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// sendInRandomChunks writes p in chunks of 1 byte to maxChunk bytes, each
// its own write so the server sees arbitrary split points.
func sendInRandomChunks(c *net.TCPConn, r *rand.Rand, p []byte, maxChunk int) error {
	for len(p) > 0 {
		n := min(len(p), 1+r.IntN(maxChunk))
		if r.IntN(8) == 0 {
			n = min(len(p), 1+r.IntN(4)) // tiny writes split UTF-8 characters
		}
		if _, err := c.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// readToFIN reads until the server's FIN; a reset is an error.
func readToFIN(c *net.TCPConn) ([]byte, error) {
	var out bytes.Buffer
	_, err := io.Copy(&out, c)
	if errors.Is(err, syscall.ECONNRESET) {
		return out.Bytes(), fmt.Errorf("connection reset instead of FIN after %d bytes", out.Len())
	}
	return out.Bytes(), err
}

// readToFINSignalling is readToFIN that closes reached once n bytes have
// been read (at once when n is 0).
func readToFINSignalling(c *net.TCPConn, n int, reached chan<- struct{}) ([]byte, error) {
	var out []byte
	buf := make([]byte, 32<<10)
	signalled := false
	for {
		if !signalled && len(out) >= n {
			close(reached)
			signalled = true
		}
		k, err := c.Read(buf)
		out = append(out, buf[:k]...)
		if errors.Is(err, io.EOF) {
			if !signalled {
				close(reached)
			}
			return out, nil
		}
		if err != nil {
			if !signalled {
				close(reached)
			}
			if errors.Is(err, syscall.ECONNRESET) {
				return out, fmt.Errorf("connection reset instead of FIN after %d bytes", len(out))
			}
			return out, err
		}
	}
}

// runClients runs n clients at once, each with its own seeded generator,
// and reports every failure.
func runClients(t *testing.T, n int, client func(i int, r *rand.Rand) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := client(i, rand.New(rand.NewPCG(uint64(i), 2026))); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 20 {
			t.Error(err)
		}
	}
	if failed > 20 {
		t.Errorf("… and %d more failing clients", failed-20)
	}
}

// Suite 1a: 1,000 concurrent clients each send at least 1 MiB of mixed
// ASCII, UTF-8 and binary in random chunks while reading; every answer must
// equal the oracle byte for byte. Payloads are generated and checked as a
// stream, each client at most owedWindow ahead of its answers, so the test
// holds only what is in flight, not 2 GiB.
func TestNoDataLossThousandClientsMiBEach(t *testing.T) {
	skipIfShort(t, "1 GiB through chatd")
	d := testbin.StartChatd(t, testbin.Options{Binary: "chatd-release"})
	const clients = 1000
	const perClient = 1 << 20
	conns := dialAll(t, d.Addr, clients)
	var verified atomic.Int64
	runClients(t, clients, func(i int, r *rand.Rand) error {
		c := conns[i]
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Minute))
		exp := newExpected()
		werr := make(chan error, 1)
		go func() {
			werr <- streamPayload(c, r, perClient, exp)
		}()
		n, err := verifyStream(c, exp)
		verified.Add(n)
		if err != nil {
			return err
		}
		return <-werr
	})
	t.Logf("%d clients, %d bytes of answers verified byte for byte", clients, verified.Load())
	if verified.Load() < clients*perClient {
		t.Fatalf("verified %d bytes, want at least %d", verified.Load(), clients*perClient)
	}
}

// dialAll connects n clients before any of them sends, so that the test
// measures serving, not a connect storm under load.
func dialAll(t *testing.T, addr string, n int) []*net.TCPConn {
	t.Helper()
	conns := make([]*net.TCPConn, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	sem := make(chan struct{}, 200)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			nc, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = nc.(*net.TCPConn)
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		t.Fatalf("%d of %d clients could not connect", failed.Load(), n)
	}
	return conns
}

// owedWindow bounds how far a client's writer runs ahead of its reader:
// it sends the next piece only while at most this many answer bytes are
// owed. Without it a writer faster than chatd's answers queued its whole
// 1 MiB of expected answers, and with 1,000 clients under the race
// detector the test process alone grew past 8 GiB (1.6 GiB with it);
// each client now holds about one window and a piece, and chatd still
// sees every client write while it reads.
const owedWindow = 64 << 10

// expected is the answer a client is owed so far, produced by the writer
// before it sends the bytes it answers, consumed by the reader.
type expected struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	read   *sync.Cond // signalled when the reader consumes or stops
	closed bool       // the reader stopped: nothing more will be taken
}

func newExpected() *expected {
	e := &expected{}
	e.read = sync.NewCond(&e.mu)
	return e
}

func (e *expected) add(b []byte) {
	e.mu.Lock()
	e.buf.Write(b)
	e.mu.Unlock()
}

// waitOwedBelow blocks while more than limit bytes are owed; it reports
// false once the reader has stopped.
func (e *expected) waitOwedBelow(limit int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.buf.Len() > limit && !e.closed {
		e.read.Wait()
	}
	return !e.closed
}

// stop tells a waiting writer that the reader is gone.
func (e *expected) stop() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.read.Broadcast()
}

// take compares got with the next len(got) expected bytes.
func (e *expected) take(got []byte) (ok bool, owed int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.read.Broadcast()
	if e.buf.Len() < len(got) {
		return false, e.buf.Len()
	}
	return bytes.Equal(e.buf.Next(len(got)), got), 0
}

func (e *expected) left() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.buf.Len()
}

// streamPayload sends at least n bytes built from oracle pieces in random
// chunks (1 byte to 64 KiB), recording each piece's answer first and
// staying within owedWindow of the reader, then half-closes.
func streamPayload(c *net.TCPConn, r *rand.Rand, n int, exp *expected) error {
	sent := 0
	for sent < n {
		if !exp.waitOwedBelow(owedWindow) {
			return fmt.Errorf("reader stopped after %d bytes sent", sent)
		}
		in, want := payloadWithOracle(r, 1+r.IntN(64<<10))
		exp.add(want)
		if err := sendInRandomChunks(c, r, in, 64<<10); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		sent += len(in)
	}
	return c.CloseWrite()
}

// verifyStream reads to the server's FIN, checking every byte, and returns
// how many it verified.
func verifyStream(c *net.TCPConn, exp *expected) (int64, error) {
	defer exp.stop()
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if ok, owed := exp.take(buf[:n]); !ok {
				return total, fmt.Errorf("answer differs from the oracle within bytes %d..%d (owed %d)", total, total+int64(n), owed)
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			if left := exp.left(); left != 0 {
				return total, fmt.Errorf("connection closed with %d answer bytes still owed", left)
			}
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("read after %d bytes: %w", total, err)
		}
	}
}

// Suite 1b: the close phrase at a random offset, split at every position
// across writes. The first part of the phrase is answered at once, like
// any byte; the write that completes the phrase gets nothing more; the
// answer is exactly the uppercase of what precedes the phrase plus that
// first part (none when the phrase came whole), and the connection ends
// with FIN.
func TestNoDataLossClosePhraseSplitEverywhere(t *testing.T) {
	skipIfShort(t, "1,000 clients with up to 128 KiB each")
	d := testbin.StartChatd(t, testbin.Options{Binary: "chatd-release"})
	const phrase = "CLOSE SOCKET"
	runClients(t, 1000, func(i int, r *rand.Rand) error {
		before, want := payloadWithOracle(r, r.IntN(128<<10))
		after, _ := payloadWithOracle(r, r.IntN(4<<10))
		split := i % (len(phrase) + 1) // 0..12: every split point, including none
		if split < len(phrase) {
			want = append(want, phrase[:split]...)
		}
		nc, err := net.DialTimeout("tcp", d.Addr, 30*time.Second)
		if err != nil {
			return err
		}
		c := nc.(*net.TCPConn)
		defer c.Close()
		c.SetNoDelay(true)
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		answered := make(chan struct{}) // closed once want is all read
		werr := make(chan error, 1)
		go func() {
			err := sendInRandomChunks(c, r, before, 64<<10)
			if err == nil && split > 0 {
				_, err = c.Write([]byte(phrase[:split]))
			}
			if err == nil && split < len(phrase) {
				// Everything so far is answered without waiting for the
				// rest of the phrase.
				select {
				case <-answered:
				case <-time.After(time.Minute):
					err = errors.New("the bytes before the rest of the phrase were not all answered")
				}
			}
			if err == nil {
				// What follows the phrase may be refused once the
				// server has closed: that is not a failure.
				c.Write(append([]byte(phrase[split:]), after...))
			}
			werr <- err
		}()
		got, err := readToFINSignalling(c, len(want), answered)
		if err != nil {
			return err
		}
		if err := <-werr; err != nil {
			return fmt.Errorf("split %d: %w (%d of %d bytes answered)", split, err, len(got), len(want))
		}
		// TCP may deliver what the client wrote in one go in several
		// reads: letters of the phrase that arrived before the read
		// that completes it are answered too (nothing else is). So the
		// answer is want and then at most a proper prefix of the rest of
		// the phrase.
		rest := phrase
		if split < len(phrase) {
			rest = phrase[split:]
		}
		extra := got[min(len(want), len(got)):]
		if !bytes.HasPrefix(got, want) || len(extra) >= len(rest) || !strings.HasPrefix(rest, string(extra)) {
			return fmt.Errorf("split %d: answer (%d bytes) differs from the uppercase of the %d bytes before the phrase and its first %d at byte %d (then %q)",
				split, len(got), len(before), split, firstDiff(got, want), extra)
		}
		return nil
	})
	testbin.Poll(30*time.Second, func() bool { return countLog(d, `"reason":"close-phrase"`) == 1000 })
	if n := countLog(d, `"reason":"close-phrase"`); n != 1000 {
		t.Fatalf("%d close-phrase disconnects logged, want 1000", n)
	}
}

func countLog(d *testbin.Chatd, substr string) int {
	return bytes.Count([]byte(d.Logs()), []byte(substr))
}
