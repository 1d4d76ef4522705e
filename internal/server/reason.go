package server

import "sync/atomic"

// Reason says why a connection ended. It appears in the disconnect log line
// and the metrics.
type Reason string

// The reasons a connection ends.
const (
	ReasonClosePhrase  Reason = "close-phrase"
	ReasonEOF          Reason = "eof"
	ReasonReset        Reason = "reset"
	ReasonWriteTimeout Reason = "write-timeout"
	ReasonIdleTimeout  Reason = "idle-timeout"
	ReasonKicked       Reason = "kicked"
	ReasonShutdown     Reason = "shutdown"
	ReasonServerFull   Reason = "server-full"
	ReasonSourceFull   Reason = "source-full" // max_clients_per_source
	ReasonPanic        Reason = "panic"
)

// Reasons lists every Reason a served (registered) connection can end with.
var Reasons = [...]Reason{ReasonClosePhrase, ReasonEOF, ReasonReset, ReasonWriteTimeout,
	ReasonIdleTimeout, ReasonKicked, ReasonShutdown, ReasonPanic}

// Stats are the server's counters since start. Live connections' bytes are
// in the registry; closed ones' are added here when they end, so the hot
// path touches only its own connection's counters.
type Stats struct {
	AcceptErrors atomic.Uint64
	Rejected     atomic.Uint64 // turned away: server full or out of descriptors
	// SourceRejected counts connections turned away because their source
	// had max_clients_per_source clients already.
	SourceRejected atomic.Uint64
	// LingerSkipped counts connections closed without waiting for their
	// client's FIN because too many were waiting already.
	LingerSkipped atomic.Uint64
	// Restored counts connections taken over from an earlier process.
	Restored    atomic.Uint64
	closedIn    atomic.Uint64
	closedOut   atomic.Uint64
	disconnects [len(Reasons)]atomic.Uint64
}

var reasonIndex = map[Reason]int{}

func init() {
	for i, r := range Reasons {
		reasonIndex[r] = i
	}
}

func (s *Stats) addClosed(r Reason, in, out uint64) {
	s.closedIn.Add(in)
	s.closedOut.Add(out)
	if i, ok := reasonIndex[r]; ok {
		s.disconnects[i].Add(1)
	}
}

// Disconnects returns how many connections ended for reason r.
func (s *Stats) Disconnects(r Reason) uint64 {
	if i, ok := reasonIndex[r]; ok {
		return s.disconnects[i].Load()
	}
	return 0
}

// ClosedBytes returns the bytes received from and sent to connections that
// have ended.
func (s *Stats) ClosedBytes() (in, out uint64) { return s.closedIn.Load(), s.closedOut.Load() }
