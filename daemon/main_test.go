package main

import (
	"os"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// The tests here run the real chatd (and chatctl) binaries.
func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }
