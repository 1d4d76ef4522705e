package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tryVariable opts in to TestSandboxToTry (`make sandbox`): "1" keeps the
// sandbox up for tryLongest, a duration ("20m") for that long.
const tryVariable = "CHATD_SANDBOX"

// tryLongest bounds how long a forgotten sandbox stays up.
const tryLongest = time.Hour

// tryDuration reads tryVariable's value.
func tryDuration(v string) (time.Duration, error) {
	if v == "1" {
		return tryLongest, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > tryLongest {
		return 0, fmt.Errorf("%s=%q: want 1 (up to %v) or a duration up to %v, such as 20m", tryVariable, v, tryLongest, tryLongest)
	}
	return d, nil
}

// TestSandboxToTry is not a test but `make sandbox`: it boots the same
// throwaway systemd the service tests use (with every mask that keeps it
// off the host), installs chatd in it with install.sh, checks a chat
// round trip, prints how to get in, and powers it off on Enter, Ctrl-C or
// after the time asked for. Only runs with CHATD_SANDBOX set, so the
// normal test run skips it.
func TestSandboxToTry(t *testing.T) {
	v := os.Getenv(tryVariable)
	if v == "" {
		t.Skip("opt-in (make sandbox, or " + tryVariable + "=1): keeps a sandbox with chatd up for you to try")
	}
	stay, err := tryDuration(v)
	if err != nil {
		t.Fatal(err)
	}
	// requireSandbox skips where a sandbox cannot be booted; asked for
	// explicitly, that is a failure (its reason is printed with the skip).
	var root string
	t.Run("requirements", func(t *testing.T) { root = requireSandbox(t) })
	if root == "" {
		t.Fatal("cannot boot a throwaway systemd here (the requirements subtest says why)")
	}
	interrupted, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(interrupted, stay+10*time.Minute)
	defer cancel()

	// The sandbox's masks keep systemd's tmpfiles from emptying the
	// host's /tmp: a file there must outlive the session.
	sentinel, err := os.CreateTemp("", "chatd-sandbox-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	sentinel.Close()
	t.Cleanup(func() {
		if _, err := os.Stat(sentinel.Name()); err != nil {
			t.Errorf("the host's /tmp lost a file while the sandbox ran: %v", err)
		}
		os.Remove(sentinel.Name())
	})

	env, dirs := installEnv(t, root)
	fmt.Println("booting a throwaway systemd in new namespaces …")
	sb := bootSandbox(t, ctx, dirs, env)
	fmt.Println("installing chatd with install.sh (builds chatd inside the sandbox; a minute or two) …")
	out, err := sb.output(ctx, 6*time.Minute, filepath.Join(root, "install.sh"))
	fmt.Print(out)
	if err != nil {
		t.Fatalf("install.sh in the sandbox: %v", err)
	}
	if got := sb.sh(ctx, 15*time.Second, "printf 'hello sandbox\\n' | chat --addr "+chatAddr); got != "HELLO SANDBOX\n" {
		t.Fatalf("chat round trip in the sandbox printed %q, want HELLO SANDBOX", got)
	}

	until := time.Now().Add(stay)
	pid := sb.pid1
	fmt.Printf(`
chatd runs as a systemd service in a throwaway sandbox (its own PID, mount and
network namespaces; /etc, /usr/local, /var, /tmp, /root and this checkout are
overlays whose changes vanish at power-off). Its PID 1 is host PID %d. From another terminal, as root:

  nsenter -t %d -a bash                        a shell inside (systemctl, journalctl, chatctl)
  nsenter -t %d -a chat                        chat with it (it answers on %s in there)
  nsenter -t %d -a chatctl status
  nsenter -t %d -a journalctl -u chatd -f      its log

The address is on the sandbox's own loopback. A program of the host's can enter
only its network: after make build, nsenter -t %d -n bin/chat --addr %s

Press Enter here (or Ctrl-C) to power it off; it powers off by itself at %s.
`, pid, pid, pid, chatAddr, pid, pid, pid, chatAddr, until.Format("15:04:05"))

	select {
	case <-enterPressed():
		fmt.Println("Enter: powering the sandbox off …")
	case <-interrupted.Done():
		fmt.Println("interrupted: powering the sandbox off …")
	case <-time.After(stay):
		fmt.Printf("%v are up: powering the sandbox off …\n", stay)
	case <-sb.exited:
		fmt.Println("the sandbox powered itself off")
	}
	// t.Cleanup (bootSandbox's) powers it off, waits for it and checks
	// that its cgroups and scratch directory are gone.
}

// enterPressed is closed when a line is read from the terminal. It reads
// /dev/tty rather than standard input, which go test does not pass on;
// without a terminal it is never closed.
func enterPressed() <-chan struct{} {
	ch := make(chan struct{})
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return ch
	}
	// A line typed during the boot and install is not the answer to
	// "press Enter": drop it.
	unix.IoctlSetInt(int(tty.Fd()), unix.TCFLSH, unix.TCIFLUSH)
	go func() {
		// The goroutine outlives the wait when it ends otherwise; the
		// test binary exits soon after.
		defer tty.Close()
		if _, err := bufio.NewReader(tty).ReadString('\n'); err == nil {
			close(ch)
		}
	}()
	return ch
}

func TestTryDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"1", time.Hour, false},
		{"20m", 20 * time.Minute, false},
		{"1h", time.Hour, false},
		{"90s", 90 * time.Second, false},
		{"2h", 0, true},
		{"0", 0, true},
		{"-5m", 0, true},
		{"yes", 0, true},
	} {
		got, err := tryDuration(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("tryDuration(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}
