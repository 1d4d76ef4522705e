package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkHostileListMemory measures the peak resident memory of the
// real chatctl (a release build: the race detector's would distort it)
// listing doubles of chatd that claim a max_clients of a billion and send
// clients without end: one host, and 5 and 32 at once over --host (32:
// as many as chatctl asks at once). chatctl must stop with a line per
// host, holding no more than MaxHostClients per host and MaxListedClients
// in all:
//
//	go test -run '^$' -bench BenchmarkHostileListMemory -benchtime 1x ./ctl/
func BenchmarkHostileListMemory(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "chatctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build chatctl: %v\n%s", err, out)
	}
	sock := serveEndless(b, 1_000_000_000)
	b.Run("socket", func(b *testing.B) {
		peak := 0.0
		for range b.N {
			r, rss := runMeasured(b, bin, nil, "--socket", sock, "list")
			if r.code != 1 || !strings.Contains(r.stderr, "more than 131072 clients, more than chatctl's limit of 131072 for one chatd allows") {
				b.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			peak = max(peak, rss)
		}
		b.ReportMetric(peak, "peak-RSS-MiB")
	})
	// Five hosts send more than the budget for all hosts together before chatctl's
	// 15 s request timeout on a 2-core machine; 32 (as many as chatctl
	// asks at once) share that machine with the doubles and the ssh
	// stand-ins, and some end by the timeout instead.
	for _, n := range []int{5, 32} {
		b.Run(fmt.Sprintf("%d-hosts", n), func(b *testing.B) {
			hosts := map[string]string{}
			var args []string
			for i := range n {
				name := fmt.Sprintf("evil%02d", i)
				hosts[name] = sock
				args = append(args, "--host", "ssh://"+name)
			}
			// The stand-in for ssh runs the release chatctl's dial-stdio.
			env := fakeSSHWith(b, bin, hosts)
			peak := 0.0
			for range b.N {
				r, rss := runMeasured(b, bin, env, append(args, "list")...)
				if r.code != 1 || strings.Count(r.stderr, "\n") != n {
					b.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				if n == 5 && !strings.Contains(r.stderr, "from all hosts at once") {
					b.Fatalf("the budget for all hosts was not reached: %q", r.stderr)
				}
				peak = max(peak, rss)
			}
			b.ReportMetric(peak, "peak-RSS-MiB")
		})
	}
}

// fakeSSHWith is fakeSSHTo with the chatctl binary given.
func fakeSSHWith(tb testing.TB, bin string, hosts map[string]string) []string {
	tb.Helper()
	dir := tb.TempDir()
	var cases strings.Builder
	for host, sock := range hosts {
		fmt.Fprintf(&cases, "%s) sock=%s ;;\n", host, sock)
	}
	script := fmt.Sprintf(`#!/bin/sh
# ssh [options] -- HOST chatctl dial-stdio
while [ "$1" != "--" ]; do shift; done
case "$2" in
%s*) echo "ssh: unknown host $2" >&2; exit 255 ;;
esac
exec %s --socket "$sock" dial-stdio
`, cases.String(), bin)
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
}
