//go:build unix

package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// A foreground chatd restarts in place on SIGUSR2: same PID, the clients
// stay on their sockets with their IDs, counters and half-sent characters,
// and nothing they sent is lost.
func TestSIGUSR2RestartsInPlaceKeepingClients(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	cl := c.Dial()
	defer cl.Close()
	r := bufio.NewReader(cl)
	ask := func(send, want string) {
		t.Helper()
		cl.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := cl.Write([]byte(send)); err != nil {
			t.Fatalf("write: %v", err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("sent %q: got %q, %v; want %q\nlog:\n%s", send, got, err, want, c.Logs())
		}
	}
	ask("hello\n", "HELLO\n")
	// The first byte of é, held by the protocol until its second byte.
	cl.Write([]byte("caf\xc3"))
	pid := c.Cmd.Process.Pid
	// Whether the server read the held byte before the restart or not,
	// the character arrives whole: either way is a test of the hand-over.
	c.Signal(syscall.SIGUSR2)
	c.WaitLog("clients taken back from the previous process", 20*time.Second)
	if c.Exited() {
		t.Fatalf("chatd exited: %v", c.Err())
	}
	if c.Cmd.Process.Pid != pid {
		t.Fatal("the PID changed")
	}
	ask("\xa9 ok\n", "CAF\xc3\x89 OK\n")
	// New clients are served too, on the inherited listener.
	d := c.Dial()
	defer d.Close()
	d.SetDeadline(time.Now().Add(10 * time.Second))
	d.Write([]byte("new\n"))
	if got, err := bufio.NewReader(d).ReadString('\n'); err != nil || got != "NEW\n" {
		t.Fatalf("a new client got %q, %v", got, err)
	}
	if n := strings.Count(c.Logs(), `"msg":"chatd started"`); n != 2 {
		t.Errorf("chatd started %d times, want 2 (one per image)", n)
	}
}

// chatctl restart does the same over the admin API, and returns only once
// the new image answers: `chatctl restart; chatctl status` needs no sleep.
func TestChatctlRestartRestartsInPlace(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	cl := c.Dial()
	defer cl.Close()
	r := bufio.NewReader(cl)
	cl.SetDeadline(time.Now().Add(10 * time.Second))
	cl.Write([]byte("one\n"))
	if got, err := r.ReadString('\n'); err != nil || got != "ONE\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	ctl := testbin.Path(t, "chatctl")
	pid := c.Cmd.Process.Pid
	for round := 1; round <= 3; round++ {
		out, err := exec.Command(ctl, "--socket", c.Socket, "restart").CombinedOutput()
		want := fmt.Sprintf("chatd restarted (re-exec): pid %d now, 1 clients connected", pid)
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("round %d: chatctl restart: %v: %s; want %q", round, err, out, want)
		}
		// At once, no wait: the new image answers, and it is the new one.
		if n := strings.Count(c.Logs(), `"msg":"chatd started"`); n != round+1 {
			t.Fatalf("round %d: chatctl restart returned with %d images started, want %d", round, n, round+1)
		}
		out, err = exec.Command(ctl, "--socket", c.Socket, "status").CombinedOutput()
		if err != nil || !strings.Contains(string(out), fmt.Sprintf("pid:           %d", pid)) {
			t.Fatalf("round %d: chatctl status right after chatctl restart: %v: %s", round, err, out)
		}
		cl.SetDeadline(time.Now().Add(10 * time.Second))
		cl.Write([]byte("two\n"))
		if got, err := r.ReadString('\n'); err != nil || got != "TWO\n" {
			t.Fatalf("round %d: after the restart got %q, %v\nlog:\n%s", round, got, err, c.Logs())
		}
	}
}

// A client behind a PROXY-protocol balancer keeps its real address across
// a restart in place: the header is not sent again, so the hand-over must
// carry it.
func TestRestartInPlaceKeepsAProxiedClientsRealAddress(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{
		Config: "proxy_protocol:\n  enabled: true\n  trusted: [\"127.0.0.1/32\"]\n"})
	cl := c.Dial()
	defer cl.Close()
	r := bufio.NewReader(cl)
	cl.SetDeadline(time.Now().Add(10 * time.Second))
	cl.Write([]byte("PROXY TCP4 127.0.0.77 127.0.0.1 5555 5605\r\nhi\n"))
	if got, err := r.ReadString('\n'); err != nil || got != "HI\n" {
		t.Fatalf("got %q, %v\nlog:\n%s", got, err, c.Logs())
	}
	listed := func() string {
		t.Helper()
		out, err := exec.Command(testbin.Path(t, "chatctl"), "--socket", c.Socket, "list", "-o", "json").CombinedOutput()
		if err != nil {
			t.Fatalf("chatctl list: %v: %s", err, out)
		}
		return string(out)
	}
	if l := listed(); !strings.Contains(l, `"127.0.0.77:5555"`) {
		t.Fatalf("before the restart, the client is not listed under its real address:\n%s", l)
	}
	c.Signal(syscall.SIGUSR2)
	c.WaitLog("clients taken back from the previous process", 20*time.Second)
	if l := listed(); !strings.Contains(l, `"127.0.0.77:5555"`) {
		t.Fatalf("after the restart, the client is not listed under its real address:\n%s\nlog:\n%s", l, c.Logs())
	}
	cl.Write([]byte("still\n"))
	if got, err := r.ReadString('\n'); err != nil || got != "STILL\n" {
		t.Fatalf("after the restart: got %q, %v", got, err)
	}
}
