package listen

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
)

// Reason says why a handshake did not deliver its connection: a label of
// the failure metrics, so the set is small and fixed.
type Reason string

// Reasons a connection is closed before it is served.
const (
	// ReasonTimeout: the handshake did not finish within Options.Timeout.
	ReasonTimeout Reason = "timeout"
	// ReasonClosed: the peer closed or reset the connection first.
	ReasonClosed Reason = "closed"
	// ReasonInvalid: the peer sent something the handshake refuses (a
	// malformed PROXY header, a TLS handshake that failed).
	ReasonInvalid Reason = "invalid"
	// ReasonUntrusted: a PROXY listener refused a peer it does not trust.
	ReasonUntrusted Reason = "untrusted"
	// ReasonDisplaced: MaxPending handshakes were in progress and this,
	// the oldest, gave way to a new connection.
	ReasonDisplaced Reason = "displaced"
	// ReasonSourceFull: its source had MaxPendingPerSource handshakes in
	// progress and this, that source's oldest, gave way to its newest.
	ReasonSourceFull Reason = "source_full"
)

// reasonsArray is every Reason, in the order metrics and status list
// them; it sizes the failure counters.
var reasonsArray = [...]Reason{ReasonTimeout, ReasonClosed, ReasonInvalid, ReasonUntrusted, ReasonDisplaced, ReasonSourceFull}

// Reasons is every Reason, in the order metrics and status list them.
var Reasons = reasonsArray[:]

func reasonIndex(r Reason) int {
	for i, x := range reasonsArray {
		if x == r {
			return i
		}
	}
	return reasonIndex(ReasonInvalid) // a Classify that made one up
}

// classify is the default reading of a handshake's error: what the socket
// says (a deadline, an end of stream, a reset) or else the peer's fault.
func classify(err error) Reason {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonClosed
	}
	return ReasonInvalid
}
