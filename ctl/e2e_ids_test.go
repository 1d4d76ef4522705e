package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// A state directory that cannot take the next block (mounted read-only,
// or full) must not make restarts hand out the same IDs again: each run
// takes IDs from the clock instead, says so once in the log, in
// `chatctl status` and in /metrics, and once the directory can be written
// again saving resumes, without a restart.
func TestClientIDsAreNeverReusedWhenStateDirCannotBeWritten(t *testing.T) {
	for _, tc := range []struct {
		name          string
		spoil, repair func(t *testing.T, dir string)
		problem       string
	}{
		{"read-only", remount("ro"), remount("rw"), "read-only file system"},
		{"full", fillUp, func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "filler")) }, "no space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := smallTmpfs(t)
			cfg := "state_dir: " + dir + "\n"
			seen := map[uint64]int{}
			note := func(run int, id uint64) {
				t.Helper()
				if prev, dup := seen[id]; dup {
					t.Fatalf("run %d handed out client ID %d again (first handed out in run %d)", run, id, prev)
				}
				seen[id] = run
			}
			// Run 0 saves normally: a file with a mark for the runs below.
			d := testbin.StartChatd(t, testbin.Options{Config: cfg})
			note(0, connectID(t, d))
			stopChatd(t, d)

			tc.spoil(t, dir)
			const runs = 5
			for run := 1; run <= runs; run++ {
				d := testbin.StartChatd(t, testbin.Options{Config: cfg})
				for range 3 {
					note(run, connectID(t, d))
				}
				if n := strings.Count(d.Logs(), "cannot save the client-ID high-water mark"); n != 1 {
					t.Fatalf("run %d: %d log lines about saving, want 1:\n%s", run, n, d.Logs())
				}
				st := statusJSON(t, d)
				if st.ClientIDs.Saved || !strings.Contains(st.ClientIDs.Problem, tc.problem) || !st.ClientIDs.Retrying {
					t.Fatalf("run %d: status client_ids %+v, want not saved because of %q", run, st.ClientIDs, tc.problem)
				}
				if p := st.ClientIDs.Problem; strings.Count(p, dir) > 1 {
					t.Fatalf("run %d: the problem names the state directory more than once: %q", run, p)
				}
				text := ctlOn(t, d, "status").mustOK(t).stdout
				if !strings.Contains(text, "client IDs:    NOT SAVED since ") || !strings.Contains(text, tc.problem) {
					t.Fatalf("run %d: chatctl status does not say IDs are not saved:\n%s", run, text)
				}
				if v := metric(t, d, "chatd_client_ids_saved"); v != "0" {
					t.Fatalf("run %d: chatd_client_ids_saved %s, want 0", run, v)
				}
				if run < runs {
					stopChatd(t, d)
					continue
				}
				// The last run sees the directory repaired: saving
				// resumes on a retry, and says so.
				tc.repair(t, dir)
				if !testbin.Poll(40*time.Second, func() bool {
					if statusJSON(t, d).ClientIDs.Saved { // asking also prompts a retry when due
						return true
					}
					time.Sleep(250 * time.Millisecond) // a retry is due every 10s: no need to spin
					return false
				}) {
					t.Fatalf("saving never resumed:\n%s", d.Logs())
				}
				d.WaitLog("client-ID high-water mark saved again", 5*time.Second)
				note(run, connectID(t, d))
				if text := ctlOn(t, d, "status").mustOK(t).stdout; !strings.Contains(text, "client IDs:    saved in "+filepath.Join(dir, "client-ids")) {
					t.Fatalf("after the repair chatctl status says:\n%s", text)
				}
				if v := metric(t, d, "chatd_client_ids_saved"); v != "1" {
					t.Fatalf("after the repair chatd_client_ids_saved %s, want 1", v)
				}
				stopChatd(t, d)
			}
			// And the next start carries on from what was saved.
			d = testbin.StartChatd(t, testbin.Options{Config: cfg})
			note(runs+1, connectID(t, d))
			if st := statusJSON(t, d); !st.ClientIDs.Saved {
				t.Fatalf("after the repair a restart does not save: %+v", st.ClientIDs)
			}
			stopChatd(t, d)
		})
	}
}

// smallTmpfs mounts a 256 KiB tmpfs for the test (root only), so that it
// can be made read-only or filled up without touching the host's disks.
// The name matters: internal/integration's check that a sandbox leaves
// the host's mounts alone knows mounts named chatd-state-* in the temp
// directory as this test's.
func smallTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir, err := os.MkdirTemp("", "chatd-state-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0750", "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			return
		}
		os.Remove(dir)
	})
	return dir
}

func remount(mode string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s %s: %v %s", mode, dir, err, out)
		}
	}
}

// fillUp writes a file until the tmpfs has no block left.
func fillUp(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for range 1024 { // bounded: the tmpfs holds 64 blocks
		if _, err := f.Write(block); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatal("the tmpfs never filled up")
}

// connectID connects one client, checks its answer, and returns the ID
// chatd logged for it.
func connectID(t *testing.T, d *testbin.Chatd) uint64 {
	t.Helper()
	before := len(d.LogRecords("client connected"))
	c := d.Dial()
	defer c.Close()
	c.Write([]byte("id?"))
	if got, err := testbin.ReadFull(c, 3, 5*time.Second); err != nil || string(got) != "ID?" {
		t.Fatalf("client got %q, %v", got, err)
	}
	var recs []map[string]any
	if !testbin.Poll(5*time.Second, func() bool {
		recs = d.LogRecords("client connected")
		return len(recs) > before
	}) {
		t.Fatal("no connect logged")
	}
	return uint64(recs[len(recs)-1]["id"].(float64))
}

func stopChatd(t *testing.T, d *testbin.Chatd) {
	t.Helper()
	d.Signal(syscall.SIGTERM)
	if code := d.Wait(10 * time.Second); code != 0 {
		t.Fatalf("chatd exited %d:\n%s", code, d.Logs())
	}
}

func statusJSON(t *testing.T, d *testbin.Chatd) adminapi.Status {
	t.Helper()
	r := ctlOn(t, d, "status", "-o", "json").mustOK(t)
	var st adminapi.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, r.stdout)
	}
	return st
}

// metric returns the value of an unlabelled metric from /metrics.
func metric(t *testing.T, d *testbin.Chatd, name string) string {
	t.Helper()
	res, err := httpOver(d).Get("http://chatd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}

// With a disk whose fsync of the client-ID mark does not return (a
// fault-injection build), every connection of the block in use is still
// served, and `chatctl status` answers even while the next connection
// waits for an ID: the block is saved ahead of need and off the
// registry's lock. Before, the 1025th connection held that lock for the
// whole fsync, and status with it.
func TestNoConnectOrStatusWaitsForTheDisk(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Binary: "chatd-faultinject",
		Env: []string{"CHATD_FAULT_SLOW_ID_SAVE=60s"}})
	// The first block is 1-1024; its successor is being saved (for a
	// minute) from the 513th on.
	start := time.Now()
	conns := connectMany(t, d.Addr, 1024)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if took := time.Since(start); took > 45*time.Second {
		t.Fatalf("1,024 connects took %v: they waited for the stuck disk", took)
	}
	// The 1025th needs the next block: it waits, in the accept loop.
	waiting, err := net.Dial("tcp", d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	waiting.Write([]byte("hi"))
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cmd := exec.CommandContext(ctx, testbin.Path(t, "chatctl"), "--socket", d.Socket, "status")
		cmd.Env = cleanEnv()
		out, err := cmd.Output()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("status %d did not answer within 15s while a connection waited for the disk", i)
		}
		if err != nil || !strings.Contains(string(out), "clients:       1024 ") {
			t.Fatalf("status %d: %v\n%s", i, err, out)
		}
		time.Sleep(200 * time.Millisecond) // spread the checks over the wait
	}
}
