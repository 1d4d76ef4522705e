package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// Under systemd, JOURNAL_STREAM names the stream connected to the
// journal, which stamps every line itself: chatd leaves slog's time out
// then, and only then (a child that inherited the variable but logs to
// a file keeps it).
func TestLogLinesCarryNoSecondTimeInTheJournal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		matching bool
	}{
		{"JOURNAL_STREAM is stderr", true},
		{"JOURNAL_STREAM is another stream", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "chatd-jnl-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			cfg := filepath.Join(dir, "chatd.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nadmin:\n  socket: %s\nlog:\n  format: json\n",
				filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"))), 0o600)
			logFile := filepath.Join(dir, "stderr")
			stderr, err := os.Create(logFile)
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			var st syscall.Stat_t
			if err := syscall.Fstat(int(stderr.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			ino := uint64(st.Ino)
			if !tc.matching {
				ino++
			}
			cmd := exec.Command(testbin.Path(t, "chatd"), "run", "--config", cfg)
			cmd.Stdout, cmd.Stderr = stderr, stderr
			cmd.Env = append(os.Environ(), fmt.Sprintf("JOURNAL_STREAM=%d:%d", uint64(st.Dev), ino))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var line string
			if !testbin.Poll(20*time.Second, func() bool {
				b, _ := os.ReadFile(logFile)
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, `"chatd started"`) {
						line = l
						return true
					}
				}
				return false
			}) {
				b, _ := os.ReadFile(logFile)
				t.Fatalf("chatd did not start; output:\n%s", b)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if _, timed := rec["time"]; timed == tc.matching {
				t.Fatalf("JOURNAL_STREAM matching stderr: %v; line: %s", tc.matching, line)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("chatd after SIGTERM: %v", err)
			}
		})
	}
}
