package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/ptytest"
)

// openPTY opens a pseudo-terminal pair of the size these tests expect.
func openPTY(t *testing.T) (master, tty *os.File) { return ptytest.Open(t, 24, 80) }

func termios(t *testing.T, tty *os.File) unix.Termios {
	t.Helper()
	var st *unix.Termios
	if err := ptytest.Control(tty, func(fd int) error {
		var err error
		st, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return *st
}

// TestInteractiveTerminal runs the real binary on a pseudo-terminal, as a
// person at a keyboard would: the prompt appears, typed lines are answered,
// notices show up, and the terminal is restored however the session ends.
func TestInteractiveTerminal(t *testing.T) {
	type step struct {
		keys   string                // typed
		server func(*chatdtest.Conn) // or done by the server
		want   string                // then the screen must show this
	}
	tests := []struct {
		name     string
		steps    []step
		wantCode int
		wantSent string
		wantTail *regexp.Regexp // the screen must end so, when set
	}{
		{
			name: "type, then CLOSE SOCKET",
			steps: []step{
				{keys: "hello\r", want: "HELLO\r\n"},
				{keys: "CLOSE SOCKET\r", want: "chat: connection closed\r\n"},
			},
			wantSent: "hello\nCLOSE SOCKET",
		},
		{
			name: "notice while idle, then Ctrl-D",
			steps: []step{
				{server: func(c *chatdtest.Conn) { c.Send("*** motd: be nice\n") }, want: "*** motd: be nice\r\n"},
				{keys: "ok\r", want: "OK\r\n"},
				{keys: "\x04", want: "chat: connection closed\r\n"},
			},
			wantSent: "ok\n",
		},
		{
			name: "kicked",
			steps: []step{
				{keys: "spam\r", want: "SPAM\r\n"},
				{server: func(c *chatdtest.Conn) { c.Kick("*** kicked by operator: spam\n") },
					want: "*** kicked by operator: spam\r\n"},
				{want: "chat: connection closed by server\r\n"},
			},
			// The notice is on the screen; stderr does not repeat it.
			// Whether the editor had drawn its prompt again (below the
			// answer or the notice) when chat left it is a race with the
			// goroutine reading keys: if it had, the prompt is erased,
			// if not, there is nothing to erase (and the check for a
			// prompt left on a message below holds either way).
			wantTail: regexp.MustCompile(`\*\*\* kicked by operator: spam\r\n(> )?(\r\x1b\[K)?chat: connection closed by server\r\n$`),
			wantCode: 3,
			wantSent: "spam\n",
		},
		{
			name: "control characters shown, not obeyed",
			steps: []step{
				{server: func(c *chatdtest.Conn) { c.Send("\x1b]0;owned\x07\u009b2J\u009d0;owned\u009c\x9bend\n") },
					want: "^[]0;owned^G<U+009B>2J<U+009D>0;owned<U+009C><9B>end\r\n"},
				{keys: "\x04", want: "chat: connection closed\r\n"},
			},
		},
		{
			name:     "Ctrl-C",
			steps:    []step{{keys: "half a line\x03"}},
			wantCode: 130,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{})
			master, tty := openPTY(t)
			before := termios(t, tty)

			ctx, cancel := context.WithTimeout(context.Background(), chatdtest.WaitTimeout)
			defer cancel()
			cmd := chatCmd(t, ctx, []string{"--addr", srv.Addr})
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var screen chatdtest.Buffer
			copied := make(chan struct{})
			go func() { io.Copy(&screen, master); close(copied) }()
			defer func() { tty.Close(); master.Close(); <-copied }()

			c := srv.Next(t)
			screen.WaitFor(t, "chat: connected to "+srv.Addr+"; type CLOSE SOCKET or press Ctrl-D to end, Ctrl-C to quit\r\n> ")
			if st := termios(t, tty); st.Lflag&(unix.ICANON|unix.ECHO) != 0 {
				t.Errorf("terminal not in raw mode while the prompt is shown: lflag %#x", st.Lflag)
			}
			for _, s := range tc.steps {
				if s.keys != "" {
					if _, err := io.WriteString(master, s.keys); err != nil {
						t.Fatal(err)
					}
				}
				if s.server != nil {
					s.server(c)
				}
				if s.want != "" {
					screen.WaitFor(t, s.want)
				}
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) && ee.Exited() {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("chat did not exit by itself: %v; screen %q", err, screen.String())
			}
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; screen %q", code, tc.wantCode, screen.String())
			}
			after := termios(t, tty)
			if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Cflag != before.Cflag {
				t.Errorf("terminal not restored: before %+v, after %+v", before, after)
			}
			if got := c.Received(); got != tc.wantSent {
				t.Errorf("server received %q, want %q", got, tc.wantSent)
			}
			if tc.wantTail != nil && !tc.wantTail.MatchString(screen.String()) {
				t.Errorf("the screen does not end as %q: %q", tc.wantTail, screen.String())
			}
			if strings.Contains(screen.String(), "> chat:") {
				t.Errorf("the prompt was left on the line of chat's closing message: %q", screen.String())
			}
			if strings.Contains(screen.String(), "goroutine ") || strings.Contains(screen.String(), "panic") {
				t.Errorf("screen shows a crash: %q", screen.String())
			}
		})
	}
}

// TestPipedToTerminalEscapesControls: input from a pipe, output to a
// terminal; the server's control characters, C0 and C1, are shown on the
// terminal, not obeyed.
func TestPipedToTerminalEscapesControls(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{IgnoreEOF: true})
	master, tty := openPTY(t)

	ctx, cancel := context.WithTimeout(context.Background(), chatdtest.WaitTimeout)
	defer cancel()
	cmd := chatCmd(t, ctx, []string{"--addr", srv.Addr})
	cmd.Stdin = strings.NewReader("hi\n")
	cmd.Stdout, cmd.Stderr = tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var screen chatdtest.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&screen, master); close(copied) }()
	defer func() { tty.Close(); master.Close(); <-copied }()

	c := srv.Next(t)
	c.WaitEOF(t)
	c.Send("\x1b[2J\u009b31mred\r\n\u009d0;title\x07\n")
	c.Close()
	code := exitCode(t, cmd.Wait())
	screen.WaitFor(t, "^[[2J<U+009B>31mred\r\n<U+009D>0;title^G\r\n")
	if code != 0 {
		t.Errorf("exit code %d, want 0; screen %q", code, screen.String())
	}
	if s := screen.String(); strings.ContainsAny(s, "\x1b\x07") || strings.Contains(s, "\u009b") {
		t.Errorf("raw control characters reached the terminal: %q", s)
	}
}
