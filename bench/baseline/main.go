// Command baseline is the yardstick for chatd benchmarks: a bare uppercase
// echo server (goroutine per connection, 32 KiB buffer, ASCII a–z → A–Z in
// place). It prints "listening on ADDR" once listening, so scripts can pass
// -addr 127.0.0.1:0 and read the port, and exits on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/chatd/chatd/bench/internal/baseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5606", "listen address")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- baseline.Serve(ln) }()
	select {
	case <-sig:
		ln.Close()
	case err := <-done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
	}
}
