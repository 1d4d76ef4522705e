package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// setKey rewrites one top-level key of chatd's config file.
func setKey(t *testing.T, d *testbin.Chatd, key, value string) {
	t.Helper()
	b, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + key + `:.*$`)
	line := key + ": " + value
	if re.Match(b) {
		b = re.ReplaceAll(b, []byte(line))
	} else {
		b = append(b, []byte("\n"+line+"\n")...)
	}
	if err := os.WriteFile(d.Config, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	fmt.Fprintf(c, "%s\n", msg)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != strings.ToUpper(msg)+"\n" {
		t.Fatalf("echo: %q, %v", line, err)
	}
}

// chatctl runs the real chatctl against d and returns its exit status,
// stdout and stderr.
func chatctl(t *testing.T, d *testbin.Chatd, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "chatctl"), append([]string{"--socket", d.Socket}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

func maxClients(t *testing.T, d *testbin.Chatd) int {
	t.Helper()
	code, out, errOut := chatctl(t, d, "status", "-o", "json")
	if code != 0 {
		t.Fatalf("chatctl status: %d %s", code, errOut)
	}
	var st struct {
		MaxClients int `json:"max_clients"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	return st.MaxClients
}

// countLog is how many log records have msg.
func countLog(d *testbin.Chatd, msg string) int { return len(d.LogRecords(msg)) }

func TestSIGHUPReloadsWithoutDroppingClients(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Config: "max_clients: 50\n"})
	c := d.Dial()
	defer c.Close()
	echo(t, c, "before")

	setKey(t, d, "max_clients", "5")
	d.Signal(syscall.SIGHUP)
	if !testbin.Poll(10*time.Second, func() bool { return countLog(d, "configuration reloaded") == 1 }) {
		t.Fatalf("no reload logged:\n%s", d.Logs())
	}
	if got := maxClients(t, d); got != 5 {
		t.Fatalf("max_clients after SIGHUP = %d, want 5", got)
	}
	echo(t, c, "after") // the connected client noticed nothing

	// An invalid file is rejected and changes nothing.
	setKey(t, d, "max_clients", "-1")
	d.Signal(syscall.SIGHUP)
	if !testbin.Poll(10*time.Second, func() bool { return countLog(d, "configuration reload rejected; the running configuration stays") == 1 }) {
		t.Fatalf("rejection not logged:\n%s", d.Logs())
	}
	if got := maxClients(t, d); got != 5 || d.Exited() {
		t.Fatalf("after a rejected reload: max_clients %d, exited %v", got, d.Exited())
	}
	echo(t, c, "still")
}

func TestChatctlReload(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Config: "max_clients: 50\n", Env: []string{"CHATD_NOTICES_SHUTDOWN=bye"}})
	c := d.Dial()
	defer c.Close()

	setKey(t, d, "max_clients", "7")
	code, out, errOut := chatctl(t, d, "reload")
	// It says what is in effect: the file and the CHATD_* variables.
	if code != 0 || !strings.Contains(out, "reloaded from file "+d.Config+", environment CHATD_NOTICES_SHUTDOWN over built-in defaults: applied max_clients") {
		t.Fatalf("chatctl reload: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := maxClients(t, d); got != 7 {
		t.Fatalf("max_clients = %d, want 7", got)
	}

	code, out, _ = chatctl(t, d, "reload")
	if code != 0 || !strings.Contains(out, "nothing changed") {
		t.Fatalf("second reload: exit %d: %s", code, out)
	}

	setKey(t, d, "listen", `"127.0.0.1:1"`)
	code, out, _ = chatctl(t, d, "reload", "-o", "json")
	var res struct {
		Applied     []string `json:"applied"`
		NeedRestart []string `json:"need_restart"`
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil ||
		len(res.NeedRestart) != 1 || res.NeedRestart[0] != "listen" || len(res.Applied) != 0 {
		t.Fatalf("reload with a new listen: exit %d, %q (%v)", code, out, err)
	}

	setKey(t, d, "max_clients", "0")
	code, out, errOut = chatctl(t, d, "reload")
	// Each layer adds its context once: no "reload rejected: reload: config: …".
	if code != 1 || out != "" || !strings.HasPrefix(errOut, `chatctl: reload rejected: config: max_clients = "0" (from file `) ||
		strings.Count(errOut, "reload") != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("invalid config: exit %d\nstdout: %q\nstderr: %q", code, out, errOut)
	}
	if got := maxClients(t, d); got != 7 {
		t.Fatalf("a rejected reload changed max_clients to %d", got)
	}
	echo(t, c, "unbothered")
}
