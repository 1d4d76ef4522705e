package compare

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuildAndStartBothServers is the part of a comparison that only a
// full run would otherwise reach: find both modules, build every program
// from them, start chatd and the baseline as a comparison does, check
// each answers, stop them.
func TestBuildAndStartBothServers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four programs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	goTool, err := GoTool()
	if err != nil {
		t.Fatal(err)
	}
	roots, err := FindRoots(ctx, goTool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(roots.Chatd, "daemon")); err != nil {
		t.Fatalf("chatd module root %s: %v", roots.Chatd, err)
	}
	dir := t.TempDir()
	bins, err := BuildAll(ctx, goTool, roots, filepath.Join(dir, "bin"), "")
	if err != nil {
		t.Fatal(err)
	}
	if bins.Chatctl == "" {
		t.Errorf("chatctl not built: %s", bins.ChatctlNote)
	}
	for _, name := range []string{NameChatd, NameBaseline} {
		t.Run(name, func(t *testing.T) {
			start, bin := StartChatd, bins.Chatd
			if name == NameBaseline {
				start, bin = StartBaseline, bins.Baseline
			}
			srv, err := start(ctx, bin, filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			if !strings.HasPrefix(srv.Addr, "127.0.0.1:") || srv.PID <= 0 {
				t.Fatalf("Addr %q PID %d", srv.Addr, srv.PID)
			}
			if (srv.Admin != "") != (srv.Name == NameChatd) {
				t.Errorf("%s: admin socket %q", srv.Name, srv.Admin)
			}
			c, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("ping\n"))
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "PING\n" {
				t.Fatalf("answer %q, %v", buf, err)
			}
			c.Close()
			if err := srv.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if !srv.Exited() {
				t.Error("still running after Stop")
			}
			log, _ := os.ReadFile(srv.Log)
			if len(log) == 0 {
				t.Errorf("%s wrote nothing to %s", srv.Name, srv.Log)
			}
		})
	}
}
