//go:build benchprofile

// This file exists only in chatd built with `-tags benchprofile`, which
// bench/compare -profile does to profile chatd under its benchmark loads.
// Release builds contain no profiling listener.

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"runtime"
	"strconv"
)

// benchProfileEnv names the loopback address to serve net/http/pprof on.
const benchProfileEnv = "CHATD_BENCH_PPROF"

// benchMemRateEnv, if set, is runtime.MemProfileRate: 1 records every
// allocation, for exact heap profiles of idle connections.
const benchMemRateEnv = "CHATD_BENCH_MEMPROFILERATE"

func init() {
	if r, err := strconv.Atoi(os.Getenv(benchMemRateEnv)); err == nil && r > 0 {
		runtime.MemProfileRate = r
	}
	addr := os.Getenv(benchProfileEnv)
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "chatd: %s=%q: want a loopback host:port; profiling off\n", benchProfileEnv, addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chatd: %s: %v; profiling off\n", benchProfileEnv, err)
		return
	}
	fmt.Fprintf(os.Stderr, "chatd: benchprofile build: pprof on http://%s/debug/pprof/\n", ln.Addr())
	go http.Serve(ln, nil)
}
