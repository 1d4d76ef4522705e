package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/syncbuf"
	"github.com/chatd/chatd/internal/testbin"
)

// countLogged counts the JSON log lines whose msg is msg.
func countLogged(out, msg string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			n++
		}
	}
	return n
}

// openFIFOWriter opens the FIFO at path for writing once a reader has
// it open, or fails when exited ends first or after timeout. Non-blocking:
// ENXIO while there is no reader, so the wait can end (a blocking open
// would wait forever for a chatd that died).
func openFIFOWriter(t *testing.T, path string, exited <-chan error, timeout time.Duration) *os.File {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return f
		}
		if !errors.Is(err, syscall.ENXIO) {
			t.Fatalf("open the config FIFO: %v", err)
		}
		select {
		case err := <-exited:
			t.Fatalf("chatd exited before reading its config: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("chatd did not open its config within %v", timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// SIGHUPs that arrive before chatd is ready (here while it reads its
// config, the test holding the file back) must not kill it: chatd starts
// and applies the reload once it serves. Go's default for an uncaught
// SIGHUP is to exit, and chatd used to subscribe only once it had read
// its config, opened its state and built its server.
func TestSIGHUPBeforeReadyIsAppliedOnceReady(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			dir, err := os.MkdirTemp("", "chatd-sig-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			cfg := filepath.Join(dir, "chatd.yaml")
			if err := syscall.Mkfifo(cfg, 0o600); err != nil {
				t.Fatal(err)
			}
			content := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nadmin:\n  socket: %s\nlog:\n  format: json\n",
				filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"))
			var out syncbuf.Buffer
			cmd := exec.Command(testbin.Path(t, "chatd"), "run", "--config", cfg)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				cmd.Process.Kill()
				if t.Failed() {
					t.Logf("chatd output:\n%s", out.String())
				}
			}()

			// chatd is reading its config, which waits for the test: it
			// is not ready, and has not got far.
			fifo := openFIFOWriter(t, cfg, exited, 20*time.Second)
			for range 3 {
				if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
					t.Fatalf("SIGHUP: %v", err)
				}
			}
			// The reload reads the path again: a plain file by then.
			if err := os.WriteFile(cfg+".new", []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(cfg+".new", cfg); err != nil {
				t.Fatal(err)
			}
			_, err = fifo.WriteString(content)
			fifo.Close()
			if err != nil {
				t.Fatalf("write the config: %v", err)
			}

			ok := testbin.Poll(20*time.Second, func() bool {
				select {
				case err := <-exited:
					t.Fatalf("chatd died of the early SIGHUP: %v; output:\n%s", err, out.String())
				default:
				}
				return countLogged(out.String(), "configuration reloaded") >= 1
			})
			if !ok {
				t.Fatal("chatd did not apply the early SIGHUP once ready")
			}
			if countLogged(out.String(), "chatd started") != 1 {
				t.Fatal("the reload came before chatd said it started")
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("chatd exited after SIGTERM: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("chatd did not exit after SIGTERM")
			}
		})
	}
}
