package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// survivalClients is how many clients chat through the restarts; the
// contract's figure. CHATD_SURVIVAL_CLIENTS lowers it on a machine too
// loaded for 200 goroutines answering each other (the test says so).
func survivalClients(t *testing.T) int {
	if s := os.Getenv("CHATD_SURVIVAL_CLIENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CHATD_SURVIVAL_CLIENTS=%q", s)
		}
		t.Logf("using %d clients (CHATD_SURVIVAL_CLIENTS), not the contract's 200", n)
		return n
	}
	return 200
}

// phase names what the service is going through, so that each client's
// losses are charged to the right kind of restart.
const (
	phaseSteady int32 = iota
	phaseCrash
	phasePlanned
)

// survivalTally is what the chatting clients and the prober saw.
type survivalTally struct {
	mu            sync.Mutex
	wrong         []string // answers that were not the message in capitals
	dropped       []string // clients whose connection ended
	lost          [3]int   // messages never answered, by phase
	exchanges     atomic.Int64
	probes        atomic.Int64
	probeRefused  []string // connection attempts that failed
	probeLost     [3]int   // probes accepted but never answered, by phase
	probeBadReply []string
}

func (ta *survivalTally) add(list *[]string, s string) {
	ta.mu.Lock()
	*list = append(*list, s)
	ta.mu.Unlock()
}

// chatter chats on one connection until stop, checking every answer byte
// for byte. A message that is not answered within answerWithin is
// counted as lost in the phase it was sent in, and the client goes on.
type chatter struct {
	n     int
	c     net.Conn
	r     *bufio.Reader
	local string
}

const answerWithin = 12 * time.Second

func (ch *chatter) run(stop <-chan struct{}, phase *atomic.Int32, ta *survivalTally, wg *sync.WaitGroup) {
	defer wg.Done()
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		msg := fmt.Sprintf("client %d message %d é ok", ch.n, k)
		want := strings.ToUpper(msg) + "\n"
		sentIn := phase.Load()
		ch.c.SetDeadline(time.Now().Add(answerWithin))
		if _, err := fmt.Fprintf(ch.c, "%s\n", msg); err != nil {
			ta.add(&ta.dropped, fmt.Sprintf("client %d: write: %v", ch.n, err))
			return
		}
		got, err := ch.r.ReadString('\n')
		var ne net.Error
		switch {
		case err != nil && (sentIn != phaseSteady || phase.Load() != phaseSteady) && isTimeout(err, &ne):
			ta.mu.Lock()
			ta.lost[max(sentIn, phase.Load())]++
			ta.mu.Unlock()
			continue
		case err != nil:
			ta.add(&ta.dropped, fmt.Sprintf("client %d: read: %v (got %q)", ch.n, err, got))
			return
		case got != want:
			ta.add(&ta.wrong, fmt.Sprintf("client %d: sent %q, got %q", ch.n, msg, got))
			return
		}
		ta.exchanges.Add(1)
	}
}

func isTimeout(err error, ne *net.Error) bool {
	if e, ok := err.(net.Error); ok {
		*ne = e
		return e.Timeout()
	}
	return false
}

// probe opens a new connection every 20 ms and checks one round trip on
// each, until stop.
func probe(sb *sandbox, stop <-chan struct{}, phase *atomic.Int32, ta *survivalTally, wg *sync.WaitGroup) {
	defer wg.Done()
	var probes sync.WaitGroup
	defer probes.Wait()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		probes.Add(1)
		go func() {
			defer probes.Done()
			ta.probes.Add(1)
			sentIn := phase.Load()
			c, err := sb.dial(chatAddr)
			if err != nil {
				ta.add(&ta.probeRefused, fmt.Sprintf("probe %d: %v", i, err))
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(answerWithin))
			msg := fmt.Sprintf("probe %d", i)
			if _, err := fmt.Fprintf(c, "%s\n", msg); err != nil {
				ta.mu.Lock()
				ta.probeLost[max(sentIn, phase.Load())]++
				ta.mu.Unlock()
				return
			}
			got, err := bufio.NewReader(c).ReadString('\n')
			switch {
			case err != nil:
				// Accepted, then gone with a crashed process before it
				// was held: what the batch interval can lose.
				ta.mu.Lock()
				ta.probeLost[max(sentIn, phase.Load())]++
				ta.mu.Unlock()
			case got != strings.ToUpper(msg)+"\n":
				ta.add(&ta.probeBadReply, fmt.Sprintf("probe %d: got %q", i, got))
			}
		}()
	}
}

// listedClients maps each listed client's remote address to its ID.
func (s *chatdService) listedClients() map[string]uint64 {
	s.t.Helper()
	out := s.sb.must(s.ctx, 30*time.Second, "chatctl", "list", "-o", "json")
	var list struct {
		Clients []struct {
			ID     uint64 `json:"id"`
			Remote string `json:"remote_addr"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.t.Fatalf("chatctl list -o json: %v", err)
	}
	m := make(map[string]uint64, len(list.Clients))
	for _, c := range list.Clients {
		m[c.Remote] = c.ID
	}
	return m
}

// waitBack waits until a new main process of chatd is active and answers
// chatctl, and returns how long that took.
func (s *chatdService) waitBack(oldPID string, t0 time.Time) time.Duration {
	s.t.Helper()
	var now map[string]string
	if !poll(s.ctx, 30*time.Second, func() bool {
		now = s.show("MainPID", "ActiveState", "SubState")
		return now["MainPID"] != oldPID && now["MainPID"] != "0" && now["ActiveState"] == "active" && now["SubState"] == "running"
	}) {
		s.t.Fatalf("chatd did not come back within 30s: %v", now)
	}
	return time.Since(t0)
}

// Clients connected to the installed chatd stay connected, keep their IDs
// and are answered byte for byte through five kill -9, three systemctl
// restart, a chatctl restart, a restart and a kill -9 onto a broken config
// file, and an install.sh upgrade to a rebuilt binary with another
// version, while a prober connects every 20 ms and is never refused.
// Nothing is lost across the planned restarts; what the crashes cost is
// measured and reported. Then systemctl stop tells every client.
func TestClientsSurviveCrashRestartAndUpgrade(t *testing.T) {
	root := requireSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	env, dirs := installEnv(t, root)
	sb := bootSandbox(t, ctx, dirs, env)
	svc := &chatdService{t: t, sb: sb, ctx: ctx}
	install := filepath.Join(root, "install.sh")
	n := survivalClients(t)

	out := sb.must(ctx, 6*time.Minute, install)
	if !strings.Contains(out, "chatd is running") {
		t.Fatalf("install.sh did not say chatd is running:\n%s", out)
	}
	if m := svc.show("FileDescriptorStoreMax")["FileDescriptorStoreMax"]; m == "" || m == "0" {
		t.Fatalf("the installed unit has FileDescriptorStoreMax=%q", m)
	}
	versionBefore := svc.statusVersion()

	var clients []*chatter
	for i := range n {
		c, err := sb.dial(chatAddr)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, &chatter{n: i, c: c, r: bufio.NewReader(c), local: c.LocalAddr().String()})
	}
	if !poll(ctx, 30*time.Second, func() bool { return svc.status().ClientsConnected >= n }) {
		t.Fatalf("chatd shows %d clients, want %d", svc.status().ClientsConnected, n)
	}
	listed := svc.listedClients()
	idsBefore := map[int]uint64{}
	for _, ch := range clients {
		id, ok := listed[ch.local]
		if !ok {
			t.Fatalf("client %d (%s) is not in chatctl list", ch.n, ch.local)
		}
		idsBefore[ch.n] = id
	}

	var phase atomic.Int32
	var ta survivalTally
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, ch := range clients {
		wg.Add(1)
		go ch.run(stop, &phase, &ta, &wg)
	}
	wg.Add(1)
	go probe(sb, stop, &phase, &ta, &wg)
	stopped := false
	stopAll := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopAll()

	// settle lets every client exchange again before the next restart.
	settle := func() {
		start := ta.exchanges.Load()
		if !poll(ctx, 60*time.Second, func() bool { return ta.exchanges.Load() >= start+int64(2*n) }) {
			ta.mu.Lock()
			defer ta.mu.Unlock()
			journal, _ := sb.output(ctx, 20*time.Second, "sh", "-c",
				`journalctl -u chatd --no-pager -o short-precise | grep -v 'msg="client [cd]' | tail -n 60`)
			t.Fatalf("the clients stopped being answered (%d exchanges); wrong %d %q, dropped %d %q\njournal without client lines:\n%s",
				ta.exchanges.Load(), len(ta.wrong), ta.wrong[:min(3, len(ta.wrong))], len(ta.dropped), ta.dropped[:min(3, len(ta.dropped))], journal)
		}
	}
	settle()

	var crashBack, restartBack []string
	for i := 1; i <= 5; i++ {
		old := svc.show("MainPID")["MainPID"]
		phase.Store(phaseCrash)
		t0 := time.Now()
		sb.must(ctx, 10*time.Second, "kill", "-9", old)
		crashBack = append(crashBack, svc.waitBack(old, t0).Round(time.Millisecond).String())
		settle()
		t.Logf("kill -9 %d: back in %s", i, crashBack[len(crashBack)-1])
		phase.Store(phaseSteady)
	}
	for i := 1; i <= 3; i++ {
		old := svc.show("MainPID")["MainPID"]
		phase.Store(phasePlanned)
		t0 := time.Now()
		sb.must(ctx, 60*time.Second, "systemctl", "restart", "chatd")
		restartBack = append(restartBack, svc.waitBack(old, t0).Round(time.Millisecond).String())
		settle()
		t.Logf("systemctl restart %d: back in %s", i, restartBack[len(restartBack)-1])
		phase.Store(phaseSteady)
	}
	// chatctl restart: the same hand-over, asked for over the admin API.
	old := svc.show("MainPID")["MainPID"]
	phase.Store(phasePlanned)
	t0 := time.Now()
	if out := sb.must(ctx, 30*time.Second, "chatctl", "restart"); !strings.Contains(out, "(systemd)") {
		t.Errorf("chatctl restart said %q", out)
	}
	restartBack = append(restartBack, svc.waitBack(old, t0).Round(time.Millisecond).String())
	settle()
	t.Logf("chatctl restart: back in %s", restartBack[len(restartBack)-1])
	phase.Store(phaseSteady)

	// A typo in the config file, then a restart and a crash before it is
	// fixed: chatd serves on with the last good config (handed over by
	// the restart, then kept in the store through the crash) and says so;
	// fixed and restarted, it is itself again.
	sb.sh(ctx, 10*time.Second, `cp /etc/chatd/chatd.yaml /root/chatd.yaml.good && sed -i 's/^max_clients:.*/max_clients: lots/' /etc/chatd/chatd.yaml`)
	for _, event := range []string{"systemctl restart", "kill -9"} {
		old := svc.show("MainPID")["MainPID"]
		t0 := time.Now()
		if event == "kill -9" {
			phase.Store(phaseCrash)
			sb.must(ctx, 10*time.Second, "kill", "-9", old)
		} else {
			phase.Store(phasePlanned)
			sb.must(ctx, 60*time.Second, "systemctl", "restart", "chatd")
		}
		svc.waitBack(old, t0)
		settle()
		phase.Store(phaseSteady)
		if deg := svc.status().Survival.Degraded; !strings.Contains(deg, "lots") {
			t.Errorf("%s onto a broken config: chatctl status says degraded %q, want the config error", event, deg)
		}
	}
	sb.sh(ctx, 10*time.Second, `cp /root/chatd.yaml.good /etc/chatd/chatd.yaml`)
	old = svc.show("MainPID")["MainPID"]
	phase.Store(phasePlanned)
	sb.must(ctx, 60*time.Second, "systemctl", "restart", "chatd")
	svc.waitBack(old, time.Now())
	settle()
	phase.Store(phaseSteady)
	if deg := svc.status().Survival.Degraded; deg != "" {
		t.Errorf("after the config was fixed and chatd restarted, chatctl status still says degraded %q", deg)
	}

	// An upgrade to a rebuilt binary with another version string.
	// install.sh stamps the version rule, whose hash is git's
	// abbreviation: a longer one changes it without writing to the
	// repository (a commit would
	// escape the overlay when the checkout is a git worktree, whose
	// objects live outside it).
	old = svc.show("MainPID")["MainPID"]
	phase.Store(phasePlanned)
	out = sb.must(ctx, 6*time.Minute, "env", "GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_1=core.abbrev", "GIT_CONFIG_VALUE_1=20", install)
	svc.waitBack(old, time.Now())
	settle()
	phase.Store(phaseSteady)
	if v := svc.statusVersion(); v == versionBefore {
		t.Errorf("after the upgrade chatd still reports version %q:\n%s", v, out)
	} else {
		t.Logf("upgraded from %s to %s", versionBefore, v)
	}
	stopAll()

	listed = svc.listedClients()
	for _, ch := range clients {
		if id, ok := listed[ch.local]; !ok || id != idsBefore[ch.n] {
			t.Errorf("client %d (%s): listed with ID %d (present %v), had %d", ch.n, ch.local, id, ok, idsBefore[ch.n])
		}
	}
	ta.mu.Lock()
	for _, list := range [][]string{ta.wrong, ta.dropped, ta.probeRefused, ta.probeBadReply} {
		for i, s := range list {
			if i == 10 {
				t.Errorf("… and %d more", len(list)-10)
				break
			}
			t.Error(s)
		}
	}
	if ta.lost[phasePlanned] != 0 || ta.probeLost[phasePlanned] != 0 {
		t.Errorf("planned restarts lost %d messages and %d probes, want none", ta.lost[phasePlanned], ta.probeLost[phasePlanned])
	}
	if ta.lost[phaseSteady] != 0 || ta.probeLost[phaseSteady] != 0 {
		t.Errorf("between restarts %d messages and %d probes were lost", ta.lost[phaseSteady], ta.probeLost[phaseSteady])
	}
	t.Logf("%d clients, %d exchanges, %d probes (%d refused); kill -9 ×5 → back in %s, lost %d messages and %d probes; "+
		"systemctl restart ×3 and chatctl restart → back in %s; upgrade: lost %d messages, %d probes across planned restarts",
		n, ta.exchanges.Load(), ta.probes.Load(), len(ta.probeRefused), strings.Join(crashBack, ", "),
		ta.lost[phaseCrash], ta.probeLost[phaseCrash], strings.Join(restartBack, ", "), ta.lost[phasePlanned], ta.probeLost[phasePlanned])
	ta.mu.Unlock()
	if t.Failed() {
		t.FailNow()
	}

	// A stop: every client is told, and nothing is left in the store.
	sb.must(ctx, 60*time.Second, "systemctl", "stop", "chatd")
	for _, ch := range clients {
		ch.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, err := readAll(ch.r)
		if err != nil || rest != "*** server shutting down\n" {
			t.Errorf("client %d at the stop read %q, %v; want the shutdown notice", ch.n, rest, err)
		}
	}
	if m := svc.show("NFileDescriptorStore")["NFileDescriptorStore"]; m != "0" {
		t.Errorf("after the stop the store holds %s descriptors", m)
	}
}

func readAll(r *bufio.Reader) (string, error) {
	b, err := io.ReadAll(r)
	return string(b), err
}

func (s *chatdService) statusVersion() string {
	s.t.Helper()
	out := s.sb.must(s.ctx, 10*time.Second, "chatctl", "status", "-o", "json")
	var st struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		s.t.Fatalf("chatctl status -o json: %v", err)
	}
	return st.Version
}
