package chatclient_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
)

// session is one Run in the background with its standard streams.
type session struct {
	stdin  *io.PipeWriter // nil when the input was given as a string
	stdout chatdtest.Buffer
	stderr chatdtest.Buffer
	code   chan int
	cancel context.CancelFunc
}

// start runs chatclient.Run against addr in the background. With input
// non-nil stdin is that text (piped input that ends); otherwise it is a
// pipe the test writes to and that stays open until the test ends.
func start(t *testing.T, opts chatclient.Options, input *string) *session {
	t.Helper()
	s := &session{code: make(chan int, 1)}
	if input != nil {
		opts.Stdin = strings.NewReader(*input)
	} else {
		r, w := io.Pipe()
		opts.Stdin = r
		s.stdin = w
		t.Cleanup(func() { w.Close() })
	}
	opts.Stdout = &s.stdout
	opts.Stderr = &s.stderr
	if opts.Timeout == 0 {
		opts.Timeout = chatdtest.WaitTimeout
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = chatdtest.WaitTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	t.Cleanup(cancel)
	go func() { s.code <- chatclient.Run(ctx, opts) }()
	return s
}

func ptr(s string) *string { return &s }

// type_ sends keys to the session's input.
func (s *session) type_(t *testing.T, keys string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// wait waits for Run to return and checks its exit code.
func (s *session) wait(t *testing.T, want int) {
	t.Helper()
	select {
	case got := <-s.code:
		if got != want {
			t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", got, want, s.stdout.String(), s.stderr.String())
		}
	case <-time.After(chatdtest.WaitTimeout):
		t.Fatalf("Run did not return within %v (stdout %q, stderr %q)", chatdtest.WaitTimeout, s.stdout.String(), s.stderr.String())
	}
}

func TestPipedRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		greeting   string
		input      string
		wantOut    string
		wantSent   string // what the server received, if not the input
		wantStderr string
	}{
		{name: "lines", input: "hello\nworld\n", wantOut: "HELLO\nWORLD\n"},
		{name: "no final newline", input: "abc", wantOut: "ABC"},
		{name: "empty input", input: "", wantOut: ""},
		{name: "greeting first", greeting: "*** welcome to chatd\n", input: "hi\n", wantOut: "*** welcome to chatd\nHI\n"},
		{name: "close phrase ends the input", input: "hi\nCLOSE SOCKET\nnot sent\n", wantOut: "HI\n", wantSent: "hi\nCLOSE SOCKET"},
		{name: "close phrase mid-line", input: "bye CLOSE SOCKET", wantOut: "BYE ", wantSent: "bye CLOSE SOCKET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{Greeting: tc.greeting})
			s := start(t, chatclient.Options{Addr: srv.Addr}, ptr(tc.input))
			c := srv.Next(t)
			s.wait(t, chatclient.ExitOK)
			if got := s.stdout.String(); got != tc.wantOut {
				t.Errorf("stdout %q, want %q", got, tc.wantOut)
			}
			if got := s.stderr.String(); got != tc.wantStderr {
				t.Errorf("stderr %q, want %q", got, tc.wantStderr)
			}
			want := tc.input
			if tc.wantSent != "" {
				want = tc.wantSent
			}
			c.WaitEOF(t)
			if got := c.Received(); got != want {
				t.Errorf("server received %q, want %q", got, want)
			}
		})
	}
}

// After its input ends the client half-closes and still prints what the
// server sends before it closes.
func TestHalfCloseThenLastBytes(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{IgnoreEOF: true})
	s := start(t, chatclient.Options{Addr: srv.Addr}, ptr("last words\n"))
	c := srv.Next(t)
	c.WaitEOF(t)
	s.stdout.WaitFor(t, "LAST WORDS\n")
	if err := c.Send("*** goodbye\nlate answer\n"); err != nil {
		t.Fatalf("sending after the half-close: %v", err)
	}
	s.stdout.WaitFor(t, "late answer\n")
	c.Close()
	s.wait(t, chatclient.ExitOK)
	if got, want := s.stdout.String(), "LAST WORDS\n*** goodbye\nlate answer\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got := s.stderr.String(); got != "" {
		t.Errorf("stderr %q, want nothing", got)
	}
}

// A server that never closes after the input ended is given up on after
// DrainTimeout, with a warning; all input was sent, so the exit is 0.
func TestDrainTimeout(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{IgnoreEOF: true})
	s := start(t, chatclient.Options{Addr: srv.Addr, DrainTimeout: 50 * time.Millisecond}, ptr("x\n"))
	srv.Next(t)
	s.wait(t, chatclient.ExitOK)
	if got := s.stdout.String(); got != "X\n" {
		t.Errorf("stdout %q, want %q", got, "X\n")
	}
	if got, want := s.stderr.String(), "chat: the server stayed silent for 50ms after the end of input without closing the connection; giving up\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// The server closes the connection on its own while the user is idle.
func TestServerClosesConnection(t *testing.T) {
	tests := []struct {
		name       string
		greeting   string
		before     string // sent by the server before it closes
		close      func(c *chatdtest.Conn)
		wantStderr string
		wantCode   int
	}{
		{
			name:       "kicked",
			close:      func(c *chatdtest.Conn) { c.Kick("*** kicked by operator: spam\n") },
			wantStderr: "chat: connection closed by server: kicked by operator: spam\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "shutting down",
			close:      func(c *chatdtest.Conn) { c.Kick("*** server shutting down\r\n") },
			wantStderr: "chat: connection closed by server: server shutting down\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "full, notice without newline",
			close:      func(c *chatdtest.Conn) { c.Kick("*** server full, try again later") },
			wantStderr: "chat: connection closed by server: server full, try again later\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "last notice wins",
			before:     "*** first\nsome answer\n",
			close:      func(c *chatdtest.Conn) { c.Kick("*** second\n") },
			wantStderr: "chat: connection closed by server: second\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "no notice",
			close:      func(c *chatdtest.Conn) { c.Close() },
			wantStderr: "chat: connection closed by server\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "greeting is not a reason",
			greeting:   "*** welcome\n",
			before:     "SOME ANSWER\n",
			close:      func(c *chatdtest.Conn) { c.Close() },
			wantStderr: "chat: connection closed by server\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "kicked, then reset",
			before:     "hi\n",
			close:      func(c *chatdtest.Conn) { c.Send("*** kicked by operator: flood\n"); c.Reset() },
			wantStderr: "chat: connection closed by server: kicked by operator: flood\n",
			wantCode:   chatclient.ExitClosedByServer,
		},
		{
			name:       "reset",
			before:     "hi\n", // so the client surely has the connection
			close:      func(c *chatdtest.Conn) { c.Reset() },
			wantStderr: "chat: connection reset by server\n",
			wantCode:   chatclient.ExitError,
		},
	}
	for _, tc := range tests {
		for _, interactive := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/interactive=%v", tc.name, interactive), func(t *testing.T) {
				srv := chatdtest.Start(t, chatdtest.Options{Greeting: tc.greeting})
				s := start(t, chatclient.Options{Addr: srv.Addr, Interactive: interactive}, nil)
				c := srv.Next(t)
				if tc.before != "" {
					c.Send(tc.before)
					lines := strings.Split(strings.TrimSpace(tc.before), "\n")
					s.stdout.WaitFor(t, lines[len(lines)-1])
				}
				tc.close(c)
				s.wait(t, tc.wantCode)
				want := tc.wantStderr
				if reason, ok := strings.CutPrefix(want, "chat: connection closed by server: "); ok && interactive {
					// On a terminal the notice is on the screen: stderr
					// does not say it again.
					want = "chat: connection closed by server\n"
					if shown := strings.TrimSpace(reason); !strings.Contains(s.stdout.String(), "*** "+shown) {
						t.Errorf("screen %q does not show the notice %q", s.stdout.String(), shown)
					}
				}
				if got := s.stderr.String(); got != want {
					t.Errorf("stderr %q, want %q", got, want)
				}
			})
		}
	}
}

// Output the server sends while the user types nothing is shown at once.
func TestAsyncOutputWhileIdle(t *testing.T) {
	for _, interactive := range []bool{false, true} {
		t.Run(fmt.Sprintf("interactive=%v", interactive), func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{})
			s := start(t, chatclient.Options{Addr: srv.Addr, Interactive: interactive}, nil)
			c := srv.Next(t)
			for _, msg := range []string{"*** announcement one\n", "*** announcement two\n"} {
				if err := c.Send(msg); err != nil {
					t.Fatal(err)
				}
				s.stdout.WaitFor(t, strings.TrimSpace(msg))
			}
			// Still connected and usable afterwards.
			if interactive {
				s.type_(t, "more\r")
			} else {
				s.type_(t, "more\n")
			}
			s.stdout.WaitFor(t, "MORE")
			s.stdin.Close()
			s.wait(t, chatclient.ExitOK)
		})
	}
}

func TestInteractive(t *testing.T) {
	tests := []struct {
		name       string
		keys       []string // typed one after another, each waited for
		waits      []string // what stdout must show after each (as the count of it, after "#")
		wantCode   int
		wantSent   string
		wantStderr string
	}{
		{
			name:       "close socket",
			keys:       []string{"hello\r", "CLOSE SOCKET\r"},
			waits:      []string{"HELLO\r\n", ""},
			wantCode:   chatclient.ExitOK,
			wantSent:   "hello\nCLOSE SOCKET",
			wantStderr: "chat: connection closed\n",
		},
		{
			name:       "close socket after text on the line",
			keys:       []string{"see you CLOSE SOCKET and more\r"},
			waits:      []string{"SEE YOU "},
			wantCode:   chatclient.ExitOK,
			wantSent:   "see you CLOSE SOCKET",
			wantStderr: "chat: connection closed\n",
		},
		{
			name:       "line editing",
			keys:       []string{"helx\x7flo\r"}, // a backspace
			waits:      []string{"HELLO\r\n"},
			wantCode:   chatclient.ExitOK,
			wantSent:   "hello\n",
			wantStderr: "chat: connection closed\n",
		},
		{
			name:       "history",
			keys:       []string{"again\r", "\x1b[A\r"}, // up arrow recalls the line
			waits:      []string{"AGAIN\r\n", "#2AGAIN\r\n"},
			wantCode:   chatclient.ExitOK,
			wantSent:   "again\nagain\n",
			wantStderr: "chat: connection closed\n",
		},
		{
			name:     "ctrl-c",
			keys:     []string{"x\r", "half typed\x03"},
			waits:    []string{"X\r\n", ""},
			wantCode: chatclient.ExitInterrupted,
			wantSent: "x\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{})
			s := start(t, chatclient.Options{Addr: srv.Addr, Interactive: true, Prompt: "chat> "}, nil)
			c := srv.Next(t)
			s.stdout.WaitFor(t, "chat> ")
			for i, k := range tc.keys {
				s.type_(t, k)
				switch w := tc.waits[i]; {
				case strings.HasPrefix(w, "#"):
					n, text := int(w[1]-'0'), w[2:]
					s.stdout.WaitUntil(t, fmt.Sprintf("%d times %q", n, text), func(out string) bool {
						return strings.Count(out, text) == n
					})
				case w != "":
					s.stdout.WaitFor(t, w)
				}
			}
			if tc.wantCode == chatclient.ExitOK && !strings.Contains(tc.wantSent, chatclient.ClosePhrase) {
				s.type_(t, "\x04") // Ctrl-D: end of input
			}
			s.wait(t, tc.wantCode)
			if got := s.stderr.String(); got != tc.wantStderr {
				t.Errorf("stderr %q, want %q", got, tc.wantStderr)
			}
			if got := c.Received(); got != tc.wantSent {
				t.Errorf("server received %q, want %q", got, tc.wantSent)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	// A port nobody listens on: take a free one and let it go.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s := start(t, chatclient.Options{Addr: addr}, ptr("hello\n"))
	s.wait(t, chatclient.ExitError)
	want := "chat: cannot connect to " + addr + ": connection refused (is chatd running?)\n"
	if got := s.stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got := s.stdout.String(); got != "" {
		t.Errorf("stdout %q, want nothing", got)
	}
}

func TestBadAddr(t *testing.T) {
	tests := []struct {
		addr, source, want string
	}{
		{"localhost", "", `chat: invalid address "localhost": missing port (want HOST:PORT, e.g. 127.0.0.1:5605)` + "\n"},
		{"", "", `chat: invalid address "": missing port (want HOST:PORT, e.g. 127.0.0.1:5605)` + "\n"},
		{"::1:5605", "", `chat: invalid address "::1:5605": an IPv6 address needs brackets: [::1]:5605` + "\n"},
		{"fe80::1%eth0:5605", "", `chat: invalid address "fe80::1%eth0:5605": an IPv6 address needs brackets: [fe80::1%eth0]:5605` + "\n"},
		{"2001:db8::1:99999", "", `chat: invalid address "2001:db8::1:99999": too many colons (want HOST:PORT, e.g. 127.0.0.1:5605 or [::1]:5605)` + "\n"},
		{"a:b:c", "", `chat: invalid address "a:b:c": too many colons (want HOST:PORT, e.g. 127.0.0.1:5605 or [::1]:5605)` + "\n"},
		{"127.0.0.1:99999", "", `chat: invalid address "127.0.0.1:99999": port "99999" is not a number from 1 to 65535` + "\n"},
		{"127.0.0.1:chat", "", `chat: invalid address "127.0.0.1:chat": port "chat" is not a number from 1 to 65535` + "\n"},
		{"127.0.0.1:0", chatclient.AddrEnv, `chat: invalid address "127.0.0.1:0" (from CHAT_ADDR): port "0" is not a number from 1 to 65535` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			s := start(t, chatclient.Options{Addr: tc.addr, AddrSource: tc.source}, ptr(""))
			s.wait(t, chatclient.ExitUsage)
			if got := s.stderr.String(); got != tc.want {
				t.Errorf("stderr %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResolveAddr(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == chatclient.AddrEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name               string
		flag               string
		flagSet            bool
		getenv             func(string) string
		wantAddr, wantFrom string
	}{
		{"default", chatclient.DefaultAddr, false, env(""), chatclient.DefaultAddr, "default"},
		{"env", chatclient.DefaultAddr, false, env("127.0.0.2:7000"), "127.0.0.2:7000", chatclient.AddrEnv},
		{"blank env", chatclient.DefaultAddr, false, env("  "), chatclient.DefaultAddr, "default"},
		{"flag beats env", "127.0.0.3:7001", true, env("127.0.0.2:7000"), "127.0.0.3:7001", "--addr"},
		{"flag equal to default still beats env", chatclient.DefaultAddr, true, env("127.0.0.2:7000"), chatclient.DefaultAddr, "--addr"},
		{"nil getenv", chatclient.DefaultAddr, false, nil, chatclient.DefaultAddr, "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, from := chatclient.ResolveAddr(tc.flag, tc.flagSet, tc.getenv)
			if addr != tc.wantAddr || from != tc.wantFrom {
				t.Errorf("ResolveAddr = %q, %q; want %q, %q", addr, from, tc.wantAddr, tc.wantFrom)
			}
		})
	}
}

// Cancelling the context (a signal) ends the session at once.
func TestCancel(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	s := start(t, chatclient.Options{Addr: srv.Addr}, nil)
	srv.Next(t)
	s.cancel()
	s.wait(t, chatclient.ExitInterrupted)
}

// The terminal hooks are used, and the terminal restored, however the
// session ends.
func TestTerminalRestored(t *testing.T) {
	ends := map[string]func(s *session, c *chatdtest.Conn){
		"close socket": func(s *session, c *chatdtest.Conn) { io.WriteString(s.stdin, "CLOSE SOCKET\r") },
		"ctrl-d":       func(s *session, c *chatdtest.Conn) { io.WriteString(s.stdin, "\x04") },
		"ctrl-c":       func(s *session, c *chatdtest.Conn) { io.WriteString(s.stdin, "\x03") },
		"kicked":       func(s *session, c *chatdtest.Conn) { c.Kick("*** kicked by operator: bye\n") },
		"reset":        func(s *session, c *chatdtest.Conn) { c.Reset() },
		"signal":       func(s *session, c *chatdtest.Conn) { s.cancel() },
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{})
			raw := make(chan bool, 2)
			tty := &chatclient.Terminal{
				MakeRaw: func() (func() error, error) {
					raw <- true
					return func() error { raw <- false; return nil }, nil
				},
				Size: func() (int, int, error) { return 40, 10, nil },
			}
			s := start(t, chatclient.Options{Addr: srv.Addr, Interactive: true, Terminal: tty}, nil)
			c := srv.Next(t)
			s.stdout.WaitFor(t, "> ")
			end(s, c)
			<-s.code
			close(raw)
			var got []bool
			for r := range raw {
				got = append(got, r)
			}
			if fmt.Sprint(got) != "[true false]" {
				t.Errorf("raw mode calls %v, want [true false]", got)
			}
		})
	}
}

// rejecter is a server that turns every client away as chatd does when it
// is full: the notice, its side closed at once, the client's bytes read
// and never answered until the client closes its side.
type rejecter struct {
	addr string
	go_  chan struct{} // closed: send the notice and close
	eof  chan struct{} // closed when the client half-closed
}

func startRejecter(t *testing.T, notice string, waitForGo, finAfterEOF bool) *rejecter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &rejecter{addr: ln.Addr().String(), go_: make(chan struct{}), eof: make(chan struct{})}
	if !waitForGo {
		close(r.go_)
	}
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(chatdtest.WaitTimeout))
		eof := make(chan struct{})
		go func() { io.Copy(io.Discard, nc); close(eof); close(r.eof) }()
		<-r.go_
		io.WriteString(nc, notice)
		if finAfterEOF {
			// The notice and the close can reach the client on either
			// side of its own end of input.
			<-eof
		}
		nc.(*net.TCPConn).CloseWrite()
		<-eof
	}()
	return r
}

// A server that turns the client away (server full) ends the session with
// exit status 3, however the client's input stands: still open, or already
// ended before or after the notice came. (With no input at all a full
// server's notice and a greeting look the same, and the end counts as
// ordinary: see TestGreetingThenEndOfInputIsOK.)
func TestServerFullIsAClose(t *testing.T) {
	const notice = "*** server full, try again later\n"
	const wantStderr = "chat: connection closed by server: server full, try again later\n"
	t.Run("input open", func(t *testing.T) {
		r := startRejecter(t, notice, false, false)
		s := start(t, chatclient.Options{Addr: r.addr}, nil)
		s.wait(t, chatclient.ExitClosedByServer)
		if got := s.stderr.String(); got != wantStderr {
			t.Errorf("stderr %q, want %q", got, wantStderr)
		}
	})
	t.Run("input ended before the notice", func(t *testing.T) {
		r := startRejecter(t, notice, true, false)
		s := start(t, chatclient.Options{Addr: r.addr}, ptr("hi\n"))
		<-r.eof // the client's input has ended and it has half-closed
		close(r.go_)
		s.wait(t, chatclient.ExitClosedByServer)
		if got := s.stderr.String(); got != wantStderr {
			t.Errorf("stderr %q, want %q", got, wantStderr)
		}
	})
	t.Run("input ended after the notice", func(t *testing.T) {
		r := startRejecter(t, notice, false, true)
		s := start(t, chatclient.Options{Addr: r.addr}, nil)
		s.stdout.WaitFor(t, notice)
		s.type_(t, "hi\n")
		s.stdin.Close()
		s.wait(t, chatclient.ExitClosedByServer)
		if got := s.stderr.String(); got != wantStderr {
			t.Errorf("stderr %q, want %q", got, wantStderr)
		}
	})
}

// A notice before the end of input followed by the answers, or a greeting
// and no input at all, does not make an ordinary end a server's close.
func TestGreetingThenEndOfInputIsOK(t *testing.T) {
	for _, input := range []string{"", "hi\n", "\n"} {
		srv := chatdtest.Start(t, chatdtest.Options{Greeting: "*** welcome\n"})
		s := start(t, chatclient.Options{Addr: srv.Addr}, ptr(input))
		srv.Next(t)
		s.wait(t, chatclient.ExitOK)
		if got := s.stderr.String(); got != "" {
			t.Errorf("input %q: stderr %q, want nothing", input, got)
		}
	}
}
