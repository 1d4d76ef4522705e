//go:build unix

package e2e

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

var restartsLine = regexp.MustCompile(`(?m)^restarts:\s+(.*)$`)

// restartFigures is the figures part of `chatctl status`'s restarts line.
func restartFigures(t *testing.T, d *testbin.Chatd) string {
	t.Helper()
	out, _, err := chatctl(t, d.Socket, "status")
	if err != nil {
		t.Fatal(err)
	}
	m := restartsLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no restarts line in chatctl status:\n%s", out)
	}
	return m[1]
}

// kickAndLinger kicks the client behind c and reads its notice, without
// closing its side: chatd has ended it and is waiting for the client's FIN.
func kickAndLinger(t *testing.T, d *testbin.Chatd, c net.Conn, id uint64) {
	t.Helper()
	if _, _, err := chatctl(t, d.Socket, "kick", strconv.FormatUint(id, 10)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "*** kicked") {
		t.Fatalf("kicked client got %q, %v", line, err)
	}
}

// closeAndLinger sends the close phrase and waits for chatd's FIN without
// closing its side.
func closeAndLinger(t *testing.T, c net.Conn) {
	t.Helper()
	io.WriteString(c, "CLOSE SOCKET")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after the close phrase: %q, %v (want chatd's FIN)", rest, err)
	}
}

// dialServed connects a client, checks it is served and returns it with
// its ID (the highest one chatctl lists).
func dialServed(t *testing.T, d *testbin.Chatd) (net.Conn, uint64) {
	t.Helper()
	c := d.Dial()
	t.Cleanup(func() { c.Close() })
	echo(t, c, "hello")
	ids := adminIDs(t, d.Socket)
	return c, ids[len(ids)-1]
}

// The restart figures in `chatctl status`, /v1/status and /metrics are the
// instance's, not one process's: they go on across restarts in place, and
// a client chatd kicked, or one that sent the close phrase, that has not
// closed its side when the restart comes is neither taken back nor lost.
func TestRestartCountersCountOnlyRealLossesAndCarryOver(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	live := []net.Conn{}
	for range 2 {
		c, _ := dialServed(t, d)
		live = append(live, c)
	}

	// Round 1: one kicked client closes at once, one never does, one
	// leaves with the close phrase and keeps its socket open.
	kickedCloses, id := dialServed(t, d)
	kickAndLinger(t, d, kickedCloses, id)
	kickedCloses.Close()
	kickedStays, id := dialServed(t, d)
	kickAndLinger(t, d, kickedStays, id)
	closer, _ := dialServed(t, d)
	closeAndLinger(t, closer)
	restartInPlace(t, d)
	if got, want := restartFigures(t, d), "1 survived, 2 clients taken back, 0 lost"; got != want {
		t.Fatalf("after the first restart: restarts %q, want %q", got, want)
	}

	// Round 2: the same, and a client that is served across it.
	late, _ := dialServed(t, d)
	live = append(live, late)
	kickedStays2, id := dialServed(t, d)
	kickAndLinger(t, d, kickedStays2, id)
	closer2, _ := dialServed(t, d)
	closeAndLinger(t, closer2)
	restartInPlace(t, d)
	if got, want := restartFigures(t, d), "2 survived, 5 clients taken back, 0 lost"; got != want {
		t.Fatalf("after the second restart: restarts %q, want %q", got, want)
	}
	for i, c := range live {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		echo(t, c, "still here "+strconv.Itoa(i))
	}

	st := status(t, d.Socket)
	if sv := st.Survival; !sv.Enabled || !sv.InPlace || sv.Restarts != 2 || sv.TakenBack != 5 || sv.Lost != 0 {
		t.Fatalf("/v1/status survival %+v, want enabled, in place, 2 restarts, 5 taken back, 0 lost", sv)
	}
	for name, want := range map[string]string{
		"chatd_restarts_survived_total":           "2",
		"chatd_connections_taken_back_total":      "5",
		"chatd_connections_lost_at_restart_total": "0",
	} {
		if got := metric(t, d.Socket, name); got != want {
			t.Errorf("%s %s, want %s", name, got, want)
		}
	}
}
