package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAnswersEachReadInCapitals(t *testing.T) {
	ts := startServer(t, defaultSettings())
	c := ts.dial(t)
	tests := []struct{ send, want string }{
		{"hello", "HELLO"}, // no newline: answered at once
		{"hello\n", "HELLO\n"},
		{"straße", "STRASSE"},
		{"ﬁ é\r\n", "FI É\r\n"},
		{"123 !?\x00\t", "123 !?\x00\t"},
		{"\xff\xfeok", "\xff\xfeOK"},
		{"γειά σου", "ΓΕΙΆ ΣΟΥ"},
	}
	for _, tt := range tests {
		mustWrite(t, c, tt.send)
		if got := readN(t, c, len(tt.want)); got != tt.want {
			t.Errorf("sent %q: got %q, want %q", tt.send, got, tt.want)
		}
	}
}

func TestRuneSplitAcrossWritesIsAnsweredWhole(t *testing.T) {
	ts := startServer(t, defaultSettings())
	c := ts.dial(t)
	c.SetNoDelay(true)
	mustWrite(t, c, "a\xc3") // "a" then the first byte of ß
	if got := readN(t, c, 1); got != "A" {
		t.Fatalf("got %q, want A before the cut character completes", got)
	}
	ts.waitIn(t, 2)
	mustWrite(t, c, "\x9f!")
	if got := readN(t, c, 3); got != "SS!" {
		t.Fatalf("got %q, want SS!", got)
	}
}

// waitIn waits until the only client has sent n bytes in total.
func (ts *testServer) waitIn(t *testing.T, n uint64) {
	t.Helper()
	ok := poll(5*time.Second, func() bool {
		s := ts.srv.Registry().Snapshot()
		return len(s) == 1 && s[0].BytesIn == n
	})
	if !ok {
		t.Fatalf("server did not receive %d bytes: %+v", n, ts.srv.Registry().Snapshot())
	}
}

func TestClosePhraseAnswersWhatPrecedesItAndCloses(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"whole", []string{"bye CLOSE SOCKET ignored"}, "BYE "},
		{"alone", []string{"CLOSE SOCKET"}, ""},
		{"split", []string{"abc CLO", "SE SOC", "KET tail"}, "ABC CLOSE SOC"},
		{"near miss first", []string{"CLOSE SOCKE", "T"}, "CLOSE SOCKE"},
		{"one byte then the rest", []string{"C", "LOSE SOCKET"}, "C"},
		{"three reads", []string{"xC", "LOSE SOCKE", "T after"}, "XCLOSE SOCKE"},
		{"false start in earlier read", []string{"CLOSE SO", "CLOSE SOCKET"}, "CLOSE SO"},
		{"cut character before the phrase", []string{"\xe2\x82", "CLOSE SOCKET"}, "\xe2\x82"},
		{"false start", []string{"x CLOSE", " SOCKS CLOSE SOCKET"}, "X CLOSE SOCKS "},
		{"lower case is not the phrase", []string{"close socket\n", "CLOSE SOCKET"}, "CLOSE SOCKET\n"},
		{"after newline", []string{"hi\nCLOSE SOCKET\n"}, "HI\n"},
		{"no capital C before", []string{"abc ", "xyz ", "CLOSE SOCKET"}, "ABC XYZ "},
		{"phrase start after plain chunks", []string{"abc ", "CLOSE", " SOCKET"}, "ABC CLOSE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, defaultSettings())
			c := ts.dial(t)
			c.SetNoDelay(true)
			ts.waitClients(t, 1)
			sent := 0
			for _, ch := range tt.chunks {
				mustWrite(t, c, ch)
				sent += len(ch)
				// Make each chunk its own read on the server.
				poll(2*time.Second, func() bool {
					s := ts.srv.Registry().Snapshot()
					return len(s) == 0 || s[0].BytesIn == uint64(sent)
				})
			}
			if got := readToEOF(t, c); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			ts.waitClients(t, 0)
			if n := ts.srv.Stats().Disconnects(ReasonClosePhrase); n != 1 {
				t.Fatalf("close-phrase disconnects = %d, want 1", n)
			}
		})
	}
}

// Every byte read is answered in the same pass, a possible start of the
// close phrase included; only the first bytes of a cut UTF-8 character
// wait for the rest of it.
func TestEveryReadIsAnsweredAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		steps [][2]string // sent, answer expected before anything more is sent
	}{
		{"phrase prefix", [][2]string{{"MAGIC", "MAGIC"}, {"ABC", "ABC"}}},
		{"lone C", [][2]string{{"C", "C"}, {"LOSE", "LOSE"}, {" SOCKE", " SOCKE"}}},
		{"whole phrase but one byte", [][2]string{{"CLOSE SOCKE", "CLOSE SOCKE"}, {"t", "T"}}},
		{"cut character waits", [][2]string{{"ab\xe2\x82", "AB"}, {"\xac", "€"}}},
		{"invalid byte at once", [][2]string{{"\xff", "\xff"}, {"ß", "SS"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, defaultSettings())
			c := ts.dial(t)
			for _, st := range tt.steps {
				mustWrite(t, c, st[0])
				if got := readN(t, c, len(st[1])); got != st[1] {
					t.Fatalf("sent %q: got %q, want %q", st[0], got, st[1])
				}
			}
		})
	}
}

func TestEOFFinishesAnswering(t *testing.T) {
	ts := startServer(t, defaultSettings())
	c := ts.dial(t)
	mustWrite(t, c, "last words CLOSE")
	c.CloseWrite()
	// Nothing is held for the phrase: "CLOSE" is answered at once.
	if got := readToEOF(t, c); got != "LAST WORDS CLOSE" {
		t.Fatalf("got %q", got)
	}
	ts.waitClients(t, 0)
	if n := ts.srv.Stats().Disconnects(ReasonEOF); n != 1 {
		t.Fatalf("eof disconnects = %d, want 1", n)
	}
}

func TestResetClientIsRemovedAtOnce(t *testing.T) {
	ts := startServer(t, defaultSettings())
	c := ts.dial(t)
	mustWrite(t, c, "x")
	readN(t, c, 1)
	c.SetLinger(0) // close with RST
	c.Close()
	ts.waitClients(t, 0)
	if n := ts.srv.Stats().Disconnects(ReasonReset); n != 1 {
		t.Fatalf("reset disconnects = %d, want 1; log:\n%s", n, ts.logs)
	}
}

func TestIDsIncreaseAndAreNeverReused(t *testing.T) {
	ts := startServer(t, defaultSettings())
	for want := uint64(1); want <= 3; want++ {
		c := ts.dial(t)
		ts.waitClients(t, 1)
		if got := ts.srv.Registry().Snapshot()[0].ID; got != want {
			t.Fatalf("client ID = %d, want %d", got, want)
		}
		mustWrite(t, c, "CLOSE SOCKET")
		readToEOF(t, c)
		ts.waitClients(t, 0)
	}
}

func TestKickSendsNoticeAndLeavesOthersAlone(t *testing.T) {
	ts := startServer(t, defaultSettings())
	a, b := ts.dial(t), ts.dial(t)
	ts.waitClients(t, 2)
	ids := ts.srv.Registry().Snapshot()
	if err := ts.srv.Registry().Kick(ids[0].ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if got := readToEOF(t, a); got != "*** kicked by operator: spam\n" {
		t.Fatalf("kicked client got %q", got)
	}
	mustWrite(t, b, "still here")
	if got := readN(t, b, 10); got != "STILL HERE" {
		t.Fatalf("other client got %q", got)
	}
	ts.waitClients(t, 1)
	if err := ts.srv.Registry().Kick(ids[0].ID, ""); !errors.Is(err, registry.ErrNotConnected) {
		t.Fatalf("second kick: %v, want ErrNotConnected", err)
	}
}

// When the server ends a connection itself, the held bytes of a cut
// character go out unchanged first, and the notice starts on a line of its
// own.
func TestServerEndedConnectionFlushesHeldBytesAndNoticeStartsALine(t *testing.T) {
	const kick = "*** kicked by operator: test\n"
	tests := []struct {
		name      string
		sent      string // by the client before the end
		answered  string // read before the end
		end       string // kick, shutdown or idle
		wantAfter string
	}{
		{"kick after text without newline", "MAGIC", "MAGIC", "kick", "\n" + kick},
		{"kick after a newline", "hi\n", "HI\n", "kick", kick},
		{"kick with nothing sent", "", "", "kick", kick},
		{"kick holding a cut character", "ab\xe2\x82", "AB", "kick", "\xe2\x82\n" + kick},
		{"kick holding a cut character after a newline", "a\n\xf0\x9f", "A\n", "kick", "\xf0\x9f\n" + kick},
		{"shutdown after text", "MAGIC", "MAGIC", "shutdown", "\n*** server shutting down\n"},
		{"shutdown holding a cut character", "\xc3", "", "shutdown", "\xc3\n*** server shutting down\n"},
		{"idle after text", "MAGIC", "MAGIC", "idle", "\n*** idle too long, disconnected\n"},
		{"idle holding a cut character", "x\xe2", "X", "idle", "\xe2\n*** idle too long, disconnected\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := defaultSettings()
			if tt.end == "idle" {
				st.IdleTimeout = 300 * time.Millisecond
			}
			ts := startServer(t, st)
			c := ts.dial(t)
			ts.waitClients(t, 1)
			if tt.sent != "" {
				mustWrite(t, c, tt.sent)
				if !poll(5*time.Second, func() bool {
					s := ts.srv.Registry().Snapshot()
					return len(s) == 1 && s[0].BytesIn == uint64(len(tt.sent))
				}) {
					t.Fatal("server did not read the bytes")
				}
			}
			if got := readN(t, c, len(tt.answered)); got != tt.answered {
				t.Fatalf("answered %q, want %q", got, tt.answered)
			}
			switch tt.end {
			case "kick":
				ts.srv.Registry().Kick(ts.srv.Registry().Snapshot()[0].ID, "test")
			case "shutdown":
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				go ts.srv.Shutdown(ctx)
			}
			if got := readToEOF(t, c); got != tt.wantAfter {
				t.Fatalf("after the %s: got %q, want %q", tt.end, got, tt.wantAfter)
			}
		})
	}
}

// A client that sends the close phrase and keeps its socket open holds no
// max_clients place while the server waits for its FIN; the waiting ones
// are bounded on their own.
func TestClosingConnectionsDoNotHoldClientPlaces(t *testing.T) {
	st := defaultSettings()
	st.MaxClients = 2
	ts := startServer(t, st, func(s *Server) {
		s.lingerFor = time.Minute // the closers outlast the test's checks
		s.minLingering = 3
	})
	const closers = 5
	for i := range closers {
		c := ts.dial(t) // closed when the test ends
		ts.waitClients(t, 1)
		mustWrite(t, c, "bye CLOSE SOCKET")
		if got := readToEOF(t, c); got != "BYE " {
			t.Fatalf("closer %d got %q", i, got)
		}
		ts.waitClients(t, 0)
	}
	if !poll(5*time.Second, func() bool { return ts.srv.Stats().LingerSkipped.Load() == closers-3 }) {
		t.Fatalf("%d closing connections not kept waiting, want %d", ts.srv.Stats().LingerSkipped.Load(), closers-3)
	}
	if n := ts.srv.Closing(); n != 3 {
		t.Fatalf("%d connections waiting for their client's FIN, want the bound 3", n)
	}
	// Both places are free for clients that chat.
	for i := range st.MaxClients {
		c := ts.dial(t)
		mustWrite(t, c, "hi")
		if got := readN(t, c, 2); got != "HI" {
			t.Fatalf("client %d got %q", i, got)
		}
	}
	if n := ts.srv.Stats().Rejected.Load(); n != 0 {
		t.Fatalf("%d clients rejected", n)
	}
}

func TestKickReachesClientBlockedInWrite(t *testing.T) {
	st := defaultSettings()
	st.WriteTimeout = time.Minute
	ts := startServer(t, st)
	c := ts.dial(t)
	c.SetReadBuffer(4096)
	ts.waitClients(t, 1)
	// Fill both directions' buffers: the server's goroutine ends up
	// blocked writing an answer nobody reads.
	go func() {
		chunk := []byte(strings.Repeat("x", 64<<10))
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < 256; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	// Once the answers fill the client's tiny receive buffer and the
	// server's send buffer (a few MiB), the server stops reading.
	if !poll(10*time.Second, func() bool {
		s := ts.srv.Registry().Snapshot()
		return len(s) == 1 && s[0].BytesIn > 1<<20 && s[0].BytesIn > s[0].BytesOut
	}) {
		t.Fatalf("server never got stuck writing: %+v", ts.srv.Registry().Snapshot())
	}
	start := time.Now()
	ts.srv.Registry().Kick(ts.srv.Registry().Snapshot()[0].ID, "")
	ts.waitClients(t, 0)
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("kick took %v, want well under the 1m write timeout", d)
	}
}

func TestNeverReadingClientIsDroppedAfterWriteTimeout(t *testing.T) {
	st := defaultSettings()
	st.WriteTimeout = 300 * time.Millisecond
	ts := startServer(t, st)
	slow := ts.dial(t)
	slow.SetReadBuffer(4096)
	good := ts.dial(t)
	ts.waitClients(t, 2)
	go func() {
		chunk := []byte(strings.Repeat("y", 64<<10))
		slow.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for i := 0; i < 1024; i++ {
			if _, err := slow.Write(chunk); err != nil {
				return
			}
		}
	}()
	// The good client keeps being answered while the slow one is stuck.
	for i := 0; i < 20; i++ {
		mustWrite(t, good, "ping\n")
		if got := readN(t, good, 5); got != "PING\n" {
			t.Fatalf("good client got %q", got)
		}
	}
	ts.waitClients(t, 1)
	if n := ts.srv.Stats().Disconnects(ReasonWriteTimeout); n != 1 {
		t.Fatalf("write-timeout disconnects = %d, want 1", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	st := defaultSettings()
	st.IdleTimeout = 200 * time.Millisecond
	ts := startServer(t, st)
	c := ts.dial(t)
	if got := readToEOF(t, c); got != "*** idle too long, disconnected\n" {
		t.Fatalf("got %q", got)
	}
	ts.waitClients(t, 0)
	if n := ts.srv.Stats().Disconnects(ReasonIdleTimeout); n != 1 {
		t.Fatalf("idle-timeout disconnects = %d", n)
	}
}

// The idle deadline is moved lazily (see armIdleDeadline); a client that
// keeps talking is never dropped, and one that stops is dropped
// idle_timeout after its last data, not earlier.
func TestIdleTimeoutCountsFromLastData(t *testing.T) {
	st := defaultSettings()
	st.IdleTimeout = 400 * time.Millisecond
	ts := startServer(t, st)
	c := ts.dial(t)
	start := time.Now()
	var last time.Time
	for {
		last = time.Now()
		mustWrite(t, c, "x")
		if got := readN(t, c, 1); got != "X" {
			t.Fatalf("got %q", got)
		}
		if time.Since(start) > 1200*time.Millisecond {
			break
		}
		// More often than idle/8: the deadline is not moved every time,
		// so it fires early and must be extended.
		time.Sleep(20 * time.Millisecond)
	}
	if got := readToEOF(t, c); got != "\n*** idle too long, disconnected\n" {
		t.Fatalf("got %q", got)
	}
	// The last activity is kept as wall-clock time (it is shown to the
	// operator), which NTP may slew against this monotonic measure by a
	// fraction of a millisecond: "not earlier" is checked to 5ms.
	if d := time.Since(last); d < 395*time.Millisecond {
		t.Fatalf("dropped %v after the last data, want about the 400ms idle timeout", d)
	}
	ts.waitClients(t, 0)
	if n := ts.srv.Stats().Disconnects(ReasonIdleTimeout); n != 1 {
		t.Fatalf("idle-timeout disconnects = %d", n)
	}
}

// Turning idle_timeout off on a live server clears the deadline already
// set on idle connections.
func TestIdleTimeoutTurnedOffLive(t *testing.T) {
	st := defaultSettings()
	st.IdleTimeout = 300 * time.Millisecond
	ts := startServer(t, st)
	c := ts.dial(t)
	mustWrite(t, c, "a")
	readN(t, c, 1)
	st.IdleTimeout = 0
	ts.srv.SetSettings(st)
	mustWrite(t, c, "b") // the next loop turn sees the new setting
	readN(t, c, 1)
	time.Sleep(600 * time.Millisecond)
	mustWrite(t, c, "still")
	if got := readN(t, c, 5); got != "STILL" {
		t.Fatalf("got %q", got)
	}
}

func TestGreetingNamesTheClient(t *testing.T) {
	st := defaultSettings()
	st.Greeting = "welcome, client {id}"
	ts := startServer(t, st)
	c := ts.dial(t)
	if got := readN(t, c, len("welcome, client 1\n")); got != "welcome, client 1\n" {
		t.Fatalf("got %q", got)
	}
}

func TestServerFull(t *testing.T) {
	st := defaultSettings()
	st.MaxClients = 2
	ts := startServer(t, st)
	ts.dial(t)
	ts.dial(t)
	ts.waitClients(t, 2)
	c := ts.dial(t)
	if got := readToEOF(t, c); got != "*** server full, try again later\n" {
		t.Fatalf("got %q", got)
	}
	if ts.srv.Stats().Rejected.Load() != 1 {
		t.Fatalf("rejected = %d", ts.srv.Stats().Rejected.Load())
	}
	// Raising the limit live lets the next one in.
	st.MaxClients = 3
	ts.srv.SetSettings(st)
	d := ts.dial(t)
	mustWrite(t, d, "in")
	if got := readN(t, d, 2); got != "IN" {
		t.Fatalf("got %q", got)
	}
}

// A burst of server-full rejections is one log line for the first and
// then at most one summary line per interval with the count; the counter
// keeps the exact number, and Shutdown logs what is still pending.
func TestServerFullRejectionsAreLoggedInSummary(t *testing.T) {
	st := defaultSettings()
	st.MaxClients = 1
	ts := startServer(t, st, func(s *Server) { s.rejectLg.every = time.Hour })
	ts.dial(t)
	ts.waitClients(t, 1)
	const rejected = 50
	for range rejected {
		readToEOF(t, ts.dial(t))
	}
	if n := ts.srv.Stats().Rejected.Load(); n != rejected {
		t.Fatalf("rejected = %d, want %d", n, rejected)
	}
	if n := strings.Count(ts.logs.String(), "client rejected"); n != 1 {
		t.Fatalf("%d 'client rejected' lines for %d rejections in one interval, want 1:\n%s", n, rejected, ts.logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts.srv.Shutdown(ctx)
	if n := strings.Count(ts.logs.String(), "clients rejected"); n != 1 || !strings.Contains(ts.logs.String(), fmt.Sprintf("count=%d", rejected-1)) {
		t.Fatalf("want one summary line with count=%d after Shutdown, log:\n%s", rejected-1, ts.logs)
	}
}

// The summary comes once per interval while a burst lasts, and after a
// quiet interval the next rejection is logged on its own again.
func TestRejectionLogSummarisesEachInterval(t *testing.T) {
	var buf syncbuf.Buffer
	r := rejectionLog{logger: slog.New(slog.NewTextHandler(&buf, nil)), every: 50 * time.Millisecond, reason: ReasonServerFull}
	defer r.flush()
	lines := func(s string) int { return strings.Count(buf.String(), s) }
	for range 10 {
		r.note("127.0.0.1:1")
	}
	if lines("client rejected") != 1 || lines("clients rejected") != 0 {
		t.Fatalf("after 10 rejections at once:\n%s", buf.String())
	}
	if !poll(5*time.Second, func() bool { return lines("clients rejected") == 1 }) {
		t.Fatalf("no summary after the interval:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "count=9") {
		t.Fatalf("summary does not count the 9 unlogged rejections:\n%s", buf.String())
	}
	// The burst ends after a quiet interval; the next rejection is a
	// line of its own.
	if !poll(5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.timer == nil
	}) {
		t.Fatal("burst never ended")
	}
	r.note("127.0.0.1:2")
	if lines("client rejected") != 2 {
		t.Fatalf("rejection after a quiet interval not logged:\n%s", buf.String())
	}
}

func TestShutdownNotifiesEveryClient(t *testing.T) {
	ts := startServer(t, defaultSettings())
	conns := []*net.TCPConn{ts.dial(t), ts.dial(t), ts.dial(t)}
	ts.waitClients(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if got := readToEOF(t, c); got != "*** server shutting down\n" {
			t.Fatalf("got %q", got)
		}
	}
}

func TestPanicDropsOnlyThatClient(t *testing.T) {
	onRead = func(b []byte) {
		if strings.Contains(string(b), "boom") {
			panic("injected")
		}
	}
	t.Cleanup(func() { onRead = nil })
	ts := startServer(t, defaultSettings())
	bad, good := ts.dial(t), ts.dial(t)
	ts.waitClients(t, 2)
	mustWrite(t, bad, "boom")
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatal("panicking client was not dropped")
	}
	mustWrite(t, good, "fine")
	if got := readN(t, good, 4); got != "FINE" {
		t.Fatalf("got %q", got)
	}
	ts.waitClients(t, 1)
	if n := ts.srv.Stats().Disconnects(ReasonPanic); n != 1 {
		t.Fatalf("panic disconnects = %d", n)
	}
	if !strings.Contains(ts.logs.String(), "panic while serving client") {
		t.Fatalf("panic not logged:\n%s", ts.logs)
	}
}

func TestConcurrentClientsAreIndependent(t *testing.T) {
	ts := startServer(t, defaultSettings())
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range 20 {
				msg := fmt.Sprintf("client %d message %d straße\n", i, j)
				want := strings.ToUpper(strings.ReplaceAll(msg, "ß", "ss"))
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write([]byte(msg)); err != nil {
					errs <- err
					return
				}
				buf := make([]byte, len(want))
				if _, err := ioReadFull(c, buf); err != nil || string(buf) != want {
					errs <- fmt.Errorf("client %d: got %q, %v; want %q", i, buf, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// flakyListener fails Accept with EMFILE a few times before working.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

func TestAcceptErrorsAreRetriedAndRateLimited(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner, fails: 8}
	logs := &syncbuf.Buffer{}
	srv := New(registry.New(nil), slogTo(logs), defaultSettings())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustWrite(t, c, "ok")
	if got := readN(t, c, 2); got != "OK" {
		t.Fatalf("got %q", got)
	}
	if n := srv.Stats().AcceptErrors.Load(); n < 8 {
		t.Fatalf("accept errors = %d, want at least 8", n)
	}
	// 8 failures with backoff 5ms..640ms happen within ~1.3s: at most two
	// log lines, not eight.
	if n := strings.Count(logs.String(), "accept failed"); n < 1 || n > 2 {
		t.Fatalf("logged %d accept failure lines, want 1 or 2:\n%s", n, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	if err := <-done; err != ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
}
