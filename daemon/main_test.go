package main

import (
	"os"
	"testing"

	"github.com/chatd/chatd/internal/signals"
	"github.com/chatd/chatd/internal/testbin"
)

// The tests here run the real chatd (and chatctl) binaries. The test
// binary itself is not `chatd run`: it gives the signals package signals
// caught at init their default behaviour back (Ctrl-C ends it).
func TestMain(m *testing.M) {
	signals.Release()
	os.Exit(testbin.Main(m))
}
