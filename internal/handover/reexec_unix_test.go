//go:build unix

package handover

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/fdstore"
)

// TestMain lets the test binary play a server that re-execs itself in place
// when a client says REEXEC: started with REEXEC_ROLE=server it listens (or
// takes the listener, the connections and the state back from Reexeced),
// prints "pid P gen G addr A conns N", and answers each line with
// "P G ID BYTESIN LINE-IN-CAPITALS".
func TestMain(m *testing.M) {
	if os.Getenv("REEXEC_ROLE") == "server" {
		if err := reexecServer(); err != nil {
			fmt.Fprintln(os.Stderr, "re-exec server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if role := os.Getenv("REEXEC_ROLE"); role != "" {
		os.Exit(signalRole(role)) // exec_signals_linux_test.go
	}
	os.Exit(m.Run())
}

type testConn struct {
	id      uint64
	c       net.Conn
	r       *bufio.Reader
	bytesIn uint64
	partial string // a line cut by the stop, read but not answered
}

func reexecServer() error {
	files, err := Reexeced()
	if err != nil {
		return err
	}
	gen := 1
	var ln net.Listener
	if f := files.Take("listener"); f != nil {
		if ln, err = fdstore.Listener(f); err != nil {
			return err
		}
	} else if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	known := map[uint64]Conn{}
	var highest uint64
	if f := files.Take(fdstore.StateName); f != nil {
		st, problems, err := ReadFile(f)
		if err != nil || len(problems) > 0 {
			return fmt.Errorf("state: %v %v", err, problems)
		}
		gen, _ = strconv.Atoi(strings.TrimPrefix(st.Version, "gen "))
		gen++
		highest = st.HighestID
		for _, c := range st.Conns {
			known[c.ID] = c
		}
	}
	var conns []*testConn
	for _, f := range files.TakePrefix("conn.") {
		id, _ := strconv.ParseUint(strings.TrimPrefix(f.Name(), "conn."), 10, 64)
		c, err := fdstore.Conn(f)
		if err != nil {
			return err
		}
		st, ok := known[id]
		if !ok {
			return fmt.Errorf("connection %d has no state", id)
		}
		// The held bytes the old image had read ahead come back too.
		conns = append(conns, &testConn{id: id, c: c, r: bufio.NewReader(io.MultiReader(strings.NewReader(string(st.Protocol)), c)), bytesIn: st.BytesIn})
	}
	if rest := files.CloseRest(); len(rest) > 0 {
		return fmt.Errorf("unexpected descriptors %q", rest)
	}
	fmt.Printf("pid %d gen %d addr %s conns %d\n", os.Getpid(), gen, ln.Addr(), len(conns))

	var mu sync.Mutex
	var wg sync.WaitGroup
	reexec := make(chan struct{}, 1)
	stopping := false
	serve := func(tc *testConn) {
		defer wg.Done()
		for {
			line, err := tc.r.ReadString('\n')
			mu.Lock()
			if stopping { // told to stop reading: hand over, do not close
				tc.partial = line
				mu.Unlock()
				return
			}
			mu.Unlock()
			if err != nil {
				tc.c.Close()
				return
			}
			tc.bytesIn += uint64(len(line))
			line = strings.TrimSuffix(line, "\n")
			if line == "REEXEC" {
				reexec <- struct{}{}
				return
			}
			fmt.Fprintf(tc.c, "%d %d %d %d %s\n", os.Getpid(), gen, tc.id, tc.bytesIn, strings.ToUpper(line))
		}
	}
	mu.Lock() // the inherited connections first; then the accept loop adds to conns
	for _, tc := range conns {
		wg.Add(1)
		go serve(tc)
	}
	mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if stopping {
				mu.Unlock()
				c.Close()
				return
			}
			highest++
			tc := &testConn{id: highest, c: c, r: bufio.NewReader(c)}
			conns = append(conns, tc)
			wg.Add(1)
			mu.Unlock()
			go serve(tc)
		}
	}()

	<-reexec
	mu.Lock()
	stopping = true
	for _, tc := range conns {
		tc.c.SetReadDeadline(time.Now()) // stop reading; the goroutines return
	}
	mu.Unlock()
	ln.(*net.TCPListener).SetDeadline(time.Now())
	wg.Wait()
	st := &State{Version: "gen " + strconv.Itoa(gen), WrittenAt: time.Now(), HighestID: highest}
	passed := []Passed{{Name: "listener", Conn: ln.(*net.TCPListener)}}
	for _, tc := range conns {
		tc.c.SetReadDeadline(time.Time{})
		// Whatever the reader had buffered is handed over as protocol
		// state, so that not a byte is lost.
		buffered, _ := tc.r.Peek(tc.r.Buffered())
		held := append([]byte(tc.partial), buffered...)
		st.Conns = append(st.Conns, Conn{ID: tc.id, Remote: tc.c.RemoteAddr().String(), Local: tc.c.LocalAddr().String(), BytesIn: tc.bytesIn, Protocol: held})
		passed = append(passed, Passed{Name: "conn." + strconv.FormatUint(tc.id, 10), Conn: tc.c.(syscall.Conn)})
	}
	return Reexec(st, passed, ExecHooks{})
}

type reexecClient struct {
	c net.Conn
	r *bufio.Reader
}

func (c *reexecClient) ask(t *testing.T, line string) (pid, gen int, id, bytesIn uint64, text string) {
	t.Helper()
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	if line != "" {
		if _, err := fmt.Fprintf(c.c, "%s\n", line); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("answer to %q: %v", line, err)
	}
	if _, err := fmt.Sscanf(s, "%d %d %d %d", &pid, &gen, &id, &bytesIn); err != nil {
		t.Fatalf("answer %q: %v", s, err)
	}
	return pid, gen, id, bytesIn, strings.TrimSuffix(strings.SplitN(s, " ", 5)[4], "\n")
}

// A re-exec in place keeps the PID, the listener and every connection, and
// the state handed over (byte counts, bytes read ahead) carries on.
func TestReexecKeepsConnectionsAndPID(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REEXEC_ROLE=server")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	status := func() (pid, gen int, addr string, conns int) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("server printed nothing: %v", lines.Err())
		}
		if _, err := fmt.Sscanf(lines.Text(), "pid %d gen %d addr %s conns %d", &pid, &gen, &addr, &conns); err != nil {
			t.Fatalf("server said %q", lines.Text())
		}
		return
	}
	pid, gen, addr, _ := status()
	if pid != cmd.Process.Pid || gen != 1 {
		t.Fatalf("first image: pid %d gen %d", pid, gen)
	}
	const n = 5
	clients := make([]*reexecClient, n)
	ids := make([]uint64, n)
	for i := range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients[i] = &reexecClient{c: c, r: bufio.NewReader(c)}
		p, g, id, in, text := clients[i].ask(t, "hello")
		if p != pid || g != 1 || in != 6 || text != "HELLO" {
			t.Fatalf("client %d: %d %d %d %d %q", i, p, g, id, in, text)
		}
		ids[i] = id
	}
	// Half a line before the re-exec, the rest after it.
	clients[1].c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(clients[1].c, "half "); err != nil {
		t.Fatal(err)
	}
	// REEXEC and a line behind it in the same write: the second line is
	// read ahead by the old image and must be answered by the new one.
	clients[0].c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(clients[0].c, "REEXEC\nread ahead\n"); err != nil {
		t.Fatal(err)
	}
	pid2, gen2, addr2, conns := status()
	if pid2 != pid || gen2 != 2 || addr2 != addr || conns != n {
		t.Fatalf("after re-exec: pid %d (want %d) gen %d addr %s conns %d", pid2, pid, gen2, addr2, conns)
	}
	p, g, id, in, text := clients[0].ask(t, "")
	if p != pid || g != 2 || id != ids[0] || in != 6+7+11 || text != "READ AHEAD" {
		t.Fatalf("read-ahead line: %d %d %d %d %q", p, g, id, in, text)
	}
	if _, _, _, _, text := clients[1].ask(t, "line"); text != "HALF LINE" {
		t.Fatalf("line cut by the re-exec came back as %q", text)
	}
	for i, c := range clients {
		p, g, id, _, text := c.ask(t, "after")
		if p != pid || g != 2 || id != ids[i] || text != "AFTER" {
			t.Fatalf("client %d after re-exec: pid %d gen %d id %d %q", i, p, g, id, text)
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nc := &reexecClient{c: c, r: bufio.NewReader(c)}
	if p, g, id, _, _ := nc.ask(t, "new"); p != pid || g != 2 || id <= ids[n-1] {
		t.Fatalf("new client after re-exec: pid %d gen %d id %d", p, g, id)
	}
}

func TestReexecRefusesBadNameWithoutExec(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := Reexec(&State{}, []Passed{{Name: "bad:name", Conn: r}}, ExecHooks{}); err == nil {
		t.Fatal("Reexec accepted a name with ':'")
	}
}

func TestReexecedWithoutVariables(t *testing.T) {
	t.Setenv(inheritFDsEnv, "")
	files, err := Reexeced()
	if err != nil || files.Len() != 0 {
		t.Fatalf("Reexeced: %d files, %v", files.Len(), err)
	}
	t.Setenv(inheritFDsEnv, "1 999999 x")
	t.Setenv(inheritNamesEnv, "a:b:c")
	if files, err := Reexeced(); err == nil || files.Len() != 0 {
		t.Fatalf("Reexeced took stdout, a closed number and junk: %d files, %v", files.Len(), err)
	}
	if errors.Is(err, os.ErrNotExist) {
		t.Fatal("unexpected error kind")
	}
}
