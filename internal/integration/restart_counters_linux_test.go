package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

var restartsLine = regexp.MustCompile(`(?m)^restarts:\s+(.*)$`)

// restartFigures waits until chatctl status answers and returns the
// figures of its restarts line.
func (s *chatdService) restartFigures() string {
	s.t.Helper()
	var out string
	var err error
	if !poll(s.ctx, 30*time.Second, func() bool {
		out, err = s.sb.output(s.ctx, 10*time.Second, "chatctl", "status")
		return err == nil
	}) {
		s.t.Fatalf("chatctl status: %v: %s", err, out)
	}
	m := restartsLine.FindStringSubmatch(out)
	if m == nil {
		s.t.Fatalf("no restarts line in chatctl status:\n%s", out)
	}
	return m[1]
}

// endedClients leaves two clients whose connection chatd ended while
// their side stays open, so that their sockets stay in the holder: one
// kicked (it reads its notice), one that sent the close phrase.
func (s *chatdService) endedClients() {
	s.t.Helper()
	kicked := s.connect()
	s.t.Cleanup(func() { kicked.Close() })
	ids := s.clientIDs("chatctl", "list", "-o", "json")
	s.sb.must(s.ctx, 15*time.Second, "chatctl", "kick", fmt.Sprint(slicesMax(ids)))
	kicked.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(kicked).ReadString('\n'); err != nil || !strings.HasPrefix(line, "*** kicked") {
		s.t.Fatalf("kicked client got %q, %v", line, err)
	}
	closer := s.connect()
	s.t.Cleanup(func() { closer.Close() })
	io.WriteString(closer, "CLOSE SOCKET")
	closer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(closer); err != nil || len(rest) != 0 {
		s.t.Fatalf("after the close phrase: %q, %v", rest, err)
	}
}

// Under systemd the restart figures are the service's: they go on through
// systemctl restart, kill -9 and chatctl restart, kicked and closing
// clients whose side is still open are neither taken back nor lost, and a
// stop ends the instance, so the next start counts from zero.
func TestRestartFiguresUnderSystemd(t *testing.T) {
	root := requireSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	env, dirs := installEnv(t, root)
	sb := bootSandbox(t, ctx, dirs, env)
	svc := &chatdService{t: t, sb: sb, ctx: ctx}
	if out := sb.must(ctx, 6*time.Minute, root+"/install.sh"); !strings.Contains(out, "chatd is running") {
		t.Fatalf("install.sh did not say chatd is running:\n%s", out)
	}
	var live []net.Conn
	for range 3 {
		c := svc.connect()
		t.Cleanup(func() { c.Close() })
		live = append(live, c)
	}
	held := func(n int) {
		t.Helper()
		if !poll(ctx, 30*time.Second, func() bool { return svc.status().Survival.Held == n }) {
			t.Fatalf("chatd holds %d clients, want %d", svc.status().Survival.Held, n)
		}
	}
	answered := func(when string) {
		t.Helper()
		for i, c := range live {
			svc.echo(c, fmt.Sprintf("%s %d", when, i))
		}
	}

	for i, step := range []struct {
		event string
		want  string
	}{
		{"systemctl restart", "1 survived, 3 clients taken back, 0 lost"},
		{"kill -9", "2 survived, 6 clients taken back, 0 lost"},
		{"chatctl restart", "3 survived, 9 clients taken back, 0 lost"},
	} {
		svc.endedClients()
		held(len(live))
		old := svc.show("MainPID")["MainPID"]
		t0 := time.Now()
		switch step.event {
		case "systemctl restart":
			sb.must(ctx, 60*time.Second, "systemctl", "restart", "chatd")
		case "kill -9":
			sb.must(ctx, 10*time.Second, "kill", "-9", old)
		case "chatctl restart":
			sb.must(ctx, 60*time.Second, "chatctl", "restart")
		}
		svc.waitBack(old, t0)
		if got := svc.restartFigures(); got != step.want {
			t.Fatalf("step %d, after %s: restarts %q, want %q", i+1, step.event, got, step.want)
		}
		answered("after " + step.event)
	}

	sb.must(ctx, 60*time.Second, "systemctl", "stop", "chatd")
	sb.must(ctx, 60*time.Second, "systemctl", "start", "chatd")
	if got, want := svc.restartFigures(), "0 survived, 0 clients taken back, 0 lost"; got != want {
		t.Fatalf("after a stop and a start: restarts %q, want %q", got, want)
	}
}
