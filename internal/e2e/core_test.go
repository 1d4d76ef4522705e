package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/chatd/chatd/internal/testbin"
)

// oracle is the expected answer to a whole stream without the close phrase.
func oracle(b []byte) []byte { return cases.Upper(language.Und).Bytes(b) }

func TestFiveHundredConcurrentClientsGetExactAnswers(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	clients := 500
	if testing.Short() {
		clients = 50 // the quick loop: still many at once, in seconds
	}
	// Connect everyone first: 500 goroutines computing oracles on two
	// cores would otherwise starve their own dials past any timeout.
	conns := dialAll(t, d.Addr, clients)
	runClients(t, clients, func(i int, r *rand.Rand) error {
		// Payloads with a known answer (see payloadWithOracle): computing
		// the answer with the full-Unicode oracle here, under -race, cost
		// more than chatd's work.
		payload, want := payloadWithOracle(r, 4<<10+r.IntN(60<<10))
		c := conns[i]
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		go func() {
			// Random chunk sizes, so runes and everything else are
			// split at arbitrary points.
			if sendInRandomChunks(c, r, payload, 4096) == nil {
				c.CloseWrite()
			}
		}()
		got, err := readToFIN(c)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("answer differs from the oracle at byte %d of %d", firstDiff(got, want), len(want))
		}
		return nil
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Every read is answered at once, a possible start of the close phrase
// included: a request/response client that waits for as many bytes as it
// sent gets them all without sending more.
func TestEveryReadIsAnsweredAtOnce(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	c := d.Dial()
	defer c.Close()
	c.SetNoDelay(true)
	for _, step := range [][2]string{
		{"MAGIC", "MAGIC"}, {"C", "C"}, {"abc", "ABC"}, {"CLOSE SOCKE", "CLOSE SOCKE"},
		{"straße", "STRASSE"}, {"\xe2\x82", ""}, {"\xac", "€"},
	} {
		c.Write([]byte(step[0]))
		if step[1] == "" {
			continue // a cut character waits for its last byte
		}
		if got, err := testbin.ReadFull(c, len(step[1]), 5*time.Second); err != nil || string(got) != step[1] {
			t.Fatalf("sent %q: got %q, %v; want %q at once", step[0], got, err, step[1])
		}
	}
	// The phrase, split, still closes the connection.
	c.Write([]byte("CLOSE SO"))
	if got, err := testbin.ReadFull(c, 8, 5*time.Second); err != nil || string(got) != "CLOSE SO" {
		t.Fatalf("first part of the phrase: got %q, %v", got, err)
	}
	c.Write([]byte("CKET and after"))
	if rest, err := testbin.ReadAll(c, 5*time.Second); err != nil || len(rest) != 0 {
		t.Fatalf("after the rest of the phrase: %q, %v (want a clean EOF)", rest, err)
	}
}

// When chatd ends a connection itself, the held bytes of a cut character
// go out unchanged and the notice starts on a line of its own, so that
// `MAGIC` then a kick is `MAGIC\n*** kicked…`, which chat recognises.
func TestServerNoticesStartOnTheirOwnLine(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Config: "idle_timeout: 1s\n"})
	kicked, idle := d.Dial(), d.Dial()
	defer kicked.Close()
	defer idle.Close()
	kicked.Write([]byte("MAGIC\xe2\x82"))
	if got, err := testbin.ReadFull(kicked, 5, 5*time.Second); err != nil || string(got) != "MAGIC" {
		t.Fatalf("got %q, %v", got, err)
	}
	idle.Write([]byte("zzz"))
	if got, err := testbin.ReadFull(idle, 3, 5*time.Second); err != nil || string(got) != "ZZZ" {
		t.Fatalf("got %q, %v", got, err)
	}
	ids := adminIDs(t, d.Socket)
	if len(ids) != 2 {
		t.Fatalf("clients %v, want 2", ids)
	}
	if _, _, err := chatctl(t, d.Socket, "kick", strconv.FormatUint(ids[0], 10), "--reason", "test"); err != nil {
		t.Fatal(err)
	}
	if rest, err := testbin.ReadAll(kicked, 5*time.Second); err != nil || string(rest) != "\xe2\x82\n*** kicked by operator: test\n" {
		t.Fatalf("kicked client got %q, %v", rest, err)
	}
	if rest, err := testbin.ReadAll(idle, 10*time.Second); err != nil || string(rest) != "\n*** idle too long, disconnected\n" {
		t.Fatalf("idle client got %q, %v", rest, err)
	}
}

// The first scenario of the README: client 1 chats and leaves with CLOSE SOCKET;
// the server stays up and the next client is client 2.
func TestClientLeavesAndTheNextIsClient2(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	c1 := d.Dial()
	c1.Write([]byte("hello"))
	if got, err := testbin.ReadFull(c1, 5, 5*time.Second); err != nil || string(got) != "HELLO" {
		t.Fatalf("client 1 got %q, %v", got, err)
	}
	c1.Write([]byte("CLOSE SOCKET"))
	if rest, err := testbin.ReadAll(c1, 5*time.Second); err != nil || len(rest) != 0 {
		t.Fatalf("after CLOSE SOCKET: %q, %v (want a clean EOF)", rest, err)
	}
	c1.Close()
	d.WaitLog(`"reason":"close-phrase"`, 5*time.Second)

	c2 := d.Dial()
	defer c2.Close()
	c2.Write([]byte("again\n"))
	if got, err := testbin.ReadFull(c2, 6, 5*time.Second); err != nil || string(got) != "AGAIN\n" {
		t.Fatalf("client 2 got %q, %v", got, err)
	}
	// The log reaches us through a pipe: wait for the second line.
	testbin.Poll(5*time.Second, func() bool { return len(d.LogRecords("client connected")) >= 2 })
	connected := d.LogRecords("client connected")
	if len(connected) != 2 || connected[0]["id"] != float64(1) || connected[1]["id"] != float64(2) {
		t.Fatalf("connect log records = %v, want ids 1 then 2", connected)
	}
}

// TestNeverReadingClientIsDroppedOthersKeepLatency: a client that sends
// and never reads is dropped for write-timeout while another client keeps
// getting prompt answers.
//
// chatd's write timeout runs while one of its writes waits for room in the
// socket, which holds only as long as the never-reading client's receive
// window, once closed, stays closed. With the kernel's default receive
// buffer it does. A tiny one (SO_RCVBUF of 4 KiB, as this test once used)
// is smaller than loopback's 64 KiB segments: the kernel prunes the
// client's queue and drops segments (TcpExtRcvPruned, TCPRcvQDrop in
// nstat), so the connection creeps forward on TCP's retransmission and
// zero-window-probe timers, whose backoff reaches seconds on a loaded
// machine; chatd's write then completes before its deadline, chatd waits
// in read with nothing pending, and no write timeout can fire (seen: 20 s
// stalls with bytes in = bytes out).
func TestNeverReadingClientIsDroppedOthersKeepLatency(t *testing.T) {
	const writeTimeout = 2 * time.Second
	d := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("write_timeout: %v\n", writeTimeout)})
	slow := d.Dial()
	defer slow.Close()
	// The kernel's default receive buffer, not a small one: see above.
	go func() {
		chunk := bytes.Repeat([]byte("z"), 64<<10)
		slow.SetWriteDeadline(time.Now().Add(30 * time.Second))
		for range 2048 {
			if _, err := slow.Write(chunk); err != nil {
				return
			}
		}
	}()
	good := d.Dial()
	defer good.Close()
	var worst time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.Logs(), `"reason":"write-timeout"`) {
		if time.Now().After(deadline) {
			t.Fatalf("never-reading client was not dropped; log:\n%s", d.Logs())
		}
		start := time.Now()
		good.Write([]byte("ping\n"))
		if got, err := testbin.ReadFull(good, 5, 5*time.Second); err != nil || string(got) != "PING\n" {
			t.Fatalf("good client got %q, %v", got, err)
		}
		worst = max(worst, time.Since(start))
	}
	// A good client held up behind the stuck one would wait until that
	// write timed out; anything shorter is this machine's own delay,
	// which the test does not bound.
	if worst >= writeTimeout {
		t.Fatalf("good client's slowest round trip was %v while another client was stuck", worst)
	}
}

func TestKilledClientLeavesTheRegistry(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	cmd := exec.Command(testbin.Path(t, "chat"), "--addr", d.Addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	d.WaitLog("client connected", 10*time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	line := d.WaitLog("client disconnected", 10*time.Second)
	if !strings.Contains(line, `"reason":"eof"`) && !strings.Contains(line, `"reason":"reset"`) {
		t.Fatalf("disconnect line %s, want reason eof or reset", line)
	}
}

func TestChatClientPiped(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	cmd := exec.Command(testbin.Path(t, "chat"), "--addr", d.Addr)
	cmd.Stdin = strings.NewReader("hello\nworld\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chat: %v; stderr: %s", err, stderr.String())
	}
	if stdout.String() != "HELLO\nWORLD\n" {
		t.Fatalf("stdout = %q, want HELLO and WORLD", stdout.String())
	}
}

func TestSIGTERMShutsDownCleanlyWithNotice(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Config: "notices:\n  shutdown: \"*** bye {id}\"\n"})
	var conns []*net.TCPConn
	for range 3 {
		conns = append(conns, d.Dial())
	}
	testbin.Poll(5*time.Second, func() bool { return len(d.LogRecords("client connected")) == 3 })
	d.Signal(syscall.SIGTERM)
	for i, c := range conns {
		got, err := testbin.ReadAll(c, 10*time.Second)
		if err != nil || !strings.HasPrefix(string(got), "*** bye ") {
			t.Fatalf("client %d got %q, %v", i, got, err)
		}
		c.Close()
	}
	if code := d.Wait(10 * time.Second); code != 0 {
		t.Fatalf("chatd exited %d after SIGTERM, want 0", code)
	}
	if n := strings.Count(d.Logs(), `"reason":"shutdown"`); n != 3 {
		t.Fatalf("%d shutdown disconnects logged, want 3", n)
	}
}
