package listen

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestBusyAddressSaysListenOnce(t *testing.T) {
	first, err := Open(context.Background(), []string{"127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer first[0].Close()
	addr := first[0].Addr().String()
	_, err = Open(context.Background(), []string{addr})
	if want := "listen " + addr + ": address already in use"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("errors.Is(%v, EADDRINUSE) is false", err)
	}
}

func TestHoldsFindsTheListeningProcess(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if holds, known := Holds(os.Getpid(), addr); !holds || !known {
		t.Errorf("Holds(self, %s) = %v, %v; want true, true", addr, holds, known)
	}
	// The wildcard address takes every address's port.
	_, port, _ := net.SplitHostPort(addr)
	if holds, _ := Holds(os.Getpid(), "0.0.0.0:"+port); !holds {
		t.Errorf("Holds(self, 0.0.0.0:%s) = false", port)
	}
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	if holds, known := Holds(os.Getpid(), freeAddr); holds || !known {
		t.Errorf("Holds(self, %s) = %v, %v after closing it; want false, true", freeAddr, holds, known)
	}
}
