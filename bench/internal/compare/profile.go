package compare

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ProfileEnv is read by chatd built with the benchprofile tag (and only by
// such a build): the loopback address to serve net/http/pprof on. Release
// builds have no profiling listener at all.
const ProfileEnv = "CHATD_BENCH_PPROF"

// startProfiled starts a benchprofile build of chatd with its pprof
// listener on a free loopback port.
func startProfiled(ctx context.Context, bin, dir string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := startChatd(ctx, bin, dir, []string{ProfileEnv + "=" + addr})
	if s != nil {
		s.pprof = addr
	}
	return s, err
}

// cpuProfile starts a CPU profile of srv that covers the window after
// warmup, for d; the returned function waits for it to be saved.
func (r *runner) cpuProfile(ctx context.Context, srv *Server, key string, warmup, d time.Duration) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait(ctx, warmup)
		secs := max(1, int(d/time.Second))
		r.saveProfile(ctx, srv, fmt.Sprintf("profile?seconds=%d", secs), "cpu-"+key+".pprof")
	}()
	return func() { <-done }
}

// saveProfile fetches /debug/pprof/<what> from srv into the profile
// directory; a failure is only logged.
func (r *runner) saveProfile(ctx context.Context, srv *Server, what, name string) {
	if srv.pprof == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	path := filepath.Join(r.o.Profile, name)
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.pprof+"/debug/pprof/"+what, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}()
	if err != nil {
		r.logf("profile %s: %v", name, err)
		return
	}
	r.logf("saved %s", path)
}
