package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/testbin"
)

// TestCommandDialerThroughDialStdio runs what --host runs on a host, the
// real `chatctl dial-stdio`, as the command of the admin client's stdio
// dialer (through sh, as ssh hands it to the login shell), without ssh.
func TestCommandDialerThroughDialStdio(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	ch := dial(t, c)
	ch.say("hello")
	waitFor(t, c, "the client", func(l []adminapi.Client) bool { return len(l) == 1 })

	script := `exec "$0" --socket "$1" dial-stdio`
	cl := adminclient.NewCommand("local", []string{"sh", "-c", script, testbin.Path(t, "chatctl"), c.Socket})
	defer cl.Close()
	ctx := context.Background()
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatalf("status through dial-stdio: %v", err)
	}
	if st.PID != c.Pid() || st.ClientsConnected != 1 {
		t.Fatalf("status = pid %d, %d clients; want pid %d, 1 client", st.PID, st.ClientsConnected, c.Pid())
	}
	list, err := cl.Clients(ctx)
	if err != nil || len(list) != 1 || list[0].RemoteAddr != ch.addr() {
		t.Fatalf("clients through dial-stdio = %+v, %v; want the one from %s", list, err, ch.addr())
	}
	if _, err := cl.Kick(ctx, list[0].ID, "bye"); err != nil {
		t.Fatalf("kick through dial-stdio: %v", err)
	}
	waitFor(t, c, "no client after the kick", func(l []adminapi.Client) bool { return len(l) == 0 })
	_, err = cl.Kick(ctx, list[0].ID, "")
	var nc *adminclient.NotConnectedError
	if !errors.As(err, &nc) {
		t.Fatalf("second kick: %v, want not connected", err)
	}

	// dial-stdio's own failure is the command's last stderr line.
	bad := adminclient.NewCommand("local", []string{"sh", "-c", script, testbin.Path(t, "chatctl"), c.Dir + "/none.sock"})
	defer bad.Close()
	_, err = bad.Status(ctx)
	var ce *adminclient.CommandError
	if !errors.As(err, &ce) || ce.Status != 1 || !strings.HasPrefix(ce.Stderr, "chatctl: cannot reach chatd at "+c.Dir+"/none.sock: no such file") {
		t.Fatalf("status through dial-stdio to no socket: %#v, want the command's error", err)
	}
}

// TestDialStdioTakesNoHost: dial-stdio is the far end of --host.
func TestDialStdioTakesNoHost(t *testing.T) {
	r := ctl(t, nil, "--host", "ssh://web1", "dial-stdio")
	if r.code != 2 || !strings.Contains(r.stderr, "takes no --host") {
		t.Fatalf("exit %d, stderr %q; want 2 and the reason", r.code, r.stderr)
	}
}
