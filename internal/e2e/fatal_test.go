package e2e

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// A fatal error outside any connection kills chatd whatever it does. Run
// by a service manager (NOTIFY_SOCKET set), it must die of a signal, not
// with Go's exit status 2: the unit stops restarting on 2 (a bad config),
// and a crash has to be restarted for its held clients to be served again.
// In the foreground it is Go's usual exit 2.
func TestFatalErrorUnderAServiceManagerIsACrashNotABadConfig(t *testing.T) {
	for _, tc := range []struct {
		name       string
		notify     bool
		wantSignal syscall.Signal // 0: an exit status
		wantCode   int
	}{
		{"under a service manager", true, syscall.SIGABRT, -1},
		{"in the foreground", false, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			if tc.notify {
				// A notify socket that takes what chatd says and is
				// never read: enough for chatd to see a service manager.
				path := filepath.Join(t.TempDir(), "notify")
				ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
				if err != nil {
					t.Fatal(err)
				}
				defer ns.Close()
				env = append(env, "NOTIFY_SOCKET="+path)
			}
			d := testbin.StartChatd(t, testbin.Options{Binary: "chatd-faultinject", Env: env,
				Config: "survive_restarts: false\n"})
			c := d.Dial()
			defer c.Close()
			c.Write([]byte("\x00CHATD-FAULT-FATAL\x00"))
			select {
			case <-d.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("chatd did not die of the fatal error")
			}
			st := d.Cmd.ProcessState
			ws, _ := st.Sys().(syscall.WaitStatus)
			switch {
			case tc.wantSignal != 0 && (!ws.Signaled() || ws.Signal() != tc.wantSignal):
				t.Fatalf("chatd ended with %v, want death by %v", st, tc.wantSignal)
			case tc.wantSignal == 0 && st.ExitCode() != tc.wantCode:
				t.Fatalf("chatd ended with %v, want exit status %d", st, tc.wantCode)
			}
		})
	}
}
