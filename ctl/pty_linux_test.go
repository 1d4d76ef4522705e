package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/ptytest"
	"github.com/chatd/chatd/internal/testbin"
)

// openPTY opens a pseudo-terminal pair of the size these tests expect.
func openPTY(t *testing.T) (master, tty *os.File) { return ptytest.Open(t, 8, 60) }

// startOnPTY starts chatctl with args on a fresh pseudo-terminal as its
// controlling terminal, and returns what the screen receives.
func startOnPTY(t *testing.T, args ...string) (cmd *exec.Cmd, master *os.File, screen *chatdtest.Buffer) {
	t.Helper()
	master, tty := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*chatdtest.WaitTimeout)
	t.Cleanup(cancel)
	cmd = exec.CommandContext(ctx, testbin.Path(t, "chatctl"), args...)
	cmd.Env = cleanEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	screen = &chatdtest.Buffer{}
	copied := make(chan struct{})
	go func() { io.Copy(screen, master); close(copied) }()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); tty.Close(); master.Close(); <-copied })
	return cmd, master, screen
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// list --watch redraws in place on the terminal, shows only the rows that
// fit, follows the clients as they come, and Ctrl-C ends it with exit 0
// and the screen restored.
func TestListWatchOnTerminal(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	for range 6 {
		dial(t, c).say("hello")
	}
	waitFor(t, c, "six clients", func(l []adminapi.Client) bool { return len(l) == 6 })
	start := time.Now()
	cmd, master, screen := startOnPTY(t, "--socket", c.Socket, "list", "--watch")
	// 8 rows: title, blank, header, 4 clients, the count line.
	screen.WaitFor(t, enterScreen)
	screen.WaitFor(t, "4 of 6 clients")
	dial(t, c).say("one more")
	screen.WaitFor(t, "4 of 7 clients") // a later frame
	if n := strings.Count(screen.String(), clearScreen); n < 2 {
		t.Fatalf("%d frames drawn, want at least 2", n)
	}
	if elapsed := time.Since(start); elapsed < watchInterval {
		t.Fatalf("second frame after %v, before the %v interval", elapsed, watchInterval)
	}
	master.Write([]byte{0x03}) // Ctrl-C
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("exit %d after Ctrl-C, want 0; screen %q", code, screen.String())
	}
	// chatctl has exited, but the copier may not have read its last bytes
	// off the terminal yet: wait for them.
	screen.WaitUntil(t, "the screen restored at the end", func(got string) bool {
		return strings.HasSuffix(strings.TrimRight(got, "^C"), leaveScreen)
	})
	text := strings.NewReplacer(enterScreen, "\n", leaveScreen, "\n", clearScreen, "\n", "\r", "").Replace(screen.String())
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 60 {
			t.Errorf("line wider than the terminal: %q", line)
		}
	}
}

// Not on a terminal, --watch refuses in one line.
func TestListWatchNeedsTerminal(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	r := ctlOn(t, c, "list", "--watch")
	first, _, _ := strings.Cut(r.stderr, "\n")
	if r.code != 2 || !strings.Contains(first, "stdout is not one") || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// kick with filters asks on a terminal, saying how many of how many.
func TestKickSelectedAsksWithCount(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	threeBySize(t, c)
	cmd, master, screen := startOnPTY(t, "--socket", c.Socket, "kick", "--sort", "in", "--limit", "2")
	screen.WaitFor(t, "Kick 2 of 3 connected clients? [y/N] ")
	master.Write([]byte("n\r"))
	if code := exitCode(t, cmd); code != 1 {
		t.Fatalf("exit %d after no, want 1", code)
	}
	if l := listJSON(t, c); len(l) != 3 {
		t.Fatalf("%d clients left after no, want 3", len(l))
	}
}
