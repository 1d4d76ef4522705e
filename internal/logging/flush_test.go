package logging

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/syncbuf"
)

// Flush writes out what is queued and the logger goes on logging, unlike
// Close.
func TestFlushWritesQueuedLinesAndKeepsLogging(t *testing.T) {
	var out syncbuf.Buffer
	l, err := Open(&out, Options{Format: "text", QueueLines: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.Info("before the flush")
	if !l.Flush(ctx) {
		t.Fatal("Flush did not finish")
	}
	if !strings.Contains(out.String(), "before the flush") {
		t.Fatalf("after Flush the line is not written: %q", out.String())
	}
	l.Info("after the flush")
	if !l.Flush(ctx) || !strings.Contains(out.String(), "after the flush") {
		t.Fatalf("the logger stopped after Flush: %q", out.String())
	}
}
