// Package chatdtest is a tiny in-process stand-in for a chatd server, for
// the chat client's tests. It listens on 127.0.0.1 on a free port, answers
// each client's bytes by chatd's own rule (package protocol: uppercase, at
// once), and closes the connection gracefully when the client sends the
// close phrase or half-closes. Tests drive the rest through a
// Conn: push output at any time, kick with a notice, reset.
//
// Waiting helpers take a deadline and wake on events; none sleeps.
package chatdtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/protocol"
)

// WaitTimeout bounds every wait in this package.
const WaitTimeout = 10 * time.Second

// Options change the server's behaviour.
type Options struct {
	// Greeting is sent to each client as soon as it connects.
	Greeting string
	// IgnoreEOF keeps a connection open after the client half-closes, so a
	// test can send late bytes (Conn.Send) and close it (Conn.Close) itself.
	IgnoreEOF bool
}

// Server is a running fake chatd.
type Server struct {
	// Addr is the HOST:PORT clients dial.
	Addr string

	opts  Options
	ln    net.Listener
	conns chan *Conn
	wg    sync.WaitGroup

	mu  sync.Mutex
	all []*Conn
}

// Start starts a server; it is stopped, and its connections closed, when the
// test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("chatdtest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln, conns: make(chan *Conn, 16)}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Close stops accepting, closes every connection and waits for the
// server's goroutines.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.all {
		c.c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{c: nc.(*net.TCPConn), opts: s.opts, done: make(chan struct{}), eof: make(chan struct{})}
		if s.opts.Greeting != "" {
			// Before the test gets the Conn, so it always comes first.
			c.Send(s.opts.Greeting)
		}
		s.mu.Lock()
		s.all = append(s.all, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
		}()
		select {
		case s.conns <- c:
		default: // nobody is asking for it
		}
	}
}

// Next waits for the next client to connect.
func (s *Server) Next(t testing.TB) *Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(WaitTimeout):
		t.Fatalf("chatdtest: no client connected within %v", WaitTimeout)
		return nil
	}
}

// Conn is the server's side of one client connection.
type Conn struct {
	c    *net.TCPConn
	opts Options

	wmu      sync.Mutex // serialises writes and the close
	received Buffer
	eof      chan struct{} // closed when the client half-closed
	done     chan struct{} // closed when serving ended
}

// Received returns every byte the client has sent so far.
func (c *Conn) Received() string { return c.received.String() }

// WaitReceived waits until the client has sent bytes containing s.
func (c *Conn) WaitReceived(t testing.TB, s string) { t.Helper(); c.received.WaitFor(t, s) }

// WaitEOF waits until the client has half-closed (or closed) its side.
func (c *Conn) WaitEOF(t testing.TB) {
	t.Helper()
	select {
	case <-c.eof:
	case <-time.After(WaitTimeout):
		t.Fatalf("chatdtest: client did not close its side within %v", WaitTimeout)
	}
}

// Send writes p to the client now, as a server's notice or greeting would
// arrive.
func (c *Conn) Send(p string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := io.WriteString(c.c, p)
	return err
}

// Kick sends notice (a full line, such as "*** kicked by operator: spam\n")
// and closes the connection gracefully, as chatd does when it drops a
// client.
func (c *Conn) Kick(notice string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	io.WriteString(c.c, notice)
	c.c.Close()
}

// Close closes the connection gracefully without a word.
func (c *Conn) Close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.Close()
}

// Reset aborts the connection: the client gets a TCP reset.
func (c *Conn) Reset() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetLinger(0)
	c.c.Close()
}

func (c *Conn) serve() {
	defer close(c.done)
	buf := make([]byte, 4096)
	var proto protocol.Stream // answers as the real server does
	for {
		n, err := c.c.Read(buf)
		if n > 0 {
			c.received.Write(buf[:n])
			out, closed := proto.Reply(nil, buf[:n])
			c.write(out)
			if closed {
				c.closeGracefully()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				c.write(proto.End(nil))
				close(c.eof)
				if !c.opts.IgnoreEOF {
					c.Close()
				}
			}
			return
		}
	}
}

// write sends an answer.
func (c *Conn) write(p []byte) {
	if len(p) == 0 {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.Write(p)
}

// closeGracefully sends FIN, then reads and drops what the client still
// sends until it closes too, so that the client never sees a reset.
func (c *Conn) closeGracefully() {
	c.wmu.Lock()
	c.c.CloseWrite()
	c.wmu.Unlock()
	c.c.SetReadDeadline(time.Now().Add(WaitTimeout))
	if _, err := io.Copy(io.Discard, c.c); err == nil {
		close(c.eof)
	}
	c.Close()
}

// Buffer is a bytes.Buffer safe for concurrent use whose readers can wait
// for content.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.b.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return n, err
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// wait returns the content and a channel closed at the next write.
func (b *Buffer) wait() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.b.String(), b.changed
}

// WaitFor waits until the content contains s, and returns the content.
func (b *Buffer) WaitFor(t testing.TB, s string) string {
	t.Helper()
	return b.WaitUntil(t, fmt.Sprintf("%q", s), func(got string) bool { return strings.Contains(got, s) })
}

// WaitUntil waits until ok holds for the content, and returns the content.
// what describes the condition for the failure message.
func (b *Buffer) WaitUntil(t testing.TB, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(WaitTimeout)
	for {
		got, changed := b.wait()
		if ok(got) {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waited %v for %s; got %q", WaitTimeout, what, got)
			return got
		}
	}
}
