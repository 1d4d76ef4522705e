package instance

import "github.com/chatd/chatd/internal/handover"

// The restart counters (restarts survived, clients taken back, clients
// lost) belong to the service instance, not to one process: each process
// starts from the figures the previous one left and adds what its own
// start took over. They travel in the hand-over of a planned restart
// (systemd's or a re-exec in place) and, for a crash, in the config kept
// in the descriptor store (keepConfig). They change only when a process
// takes clients over, at start, and the kept config is rewritten right
// after that, so a crash finds the figures up to the start of the process
// that crashed. They start from zero on a first start and after a stop.

// inheritedCounters are the figures the previous process left: those its
// hand-over carried, else (a crash, or a hand-over that could not be
// written or read) those kept in the store, else none.
func (in *Inheritance) inheritedCounters() handover.Counters {
	switch {
	case in == nil:
	case in.state != nil && in.state.Counters != nil:
		return *in.state.Counters
	case in.kept != nil && in.kept.Counters != nil:
		return *in.kept.Counters
	}
	return handover.Counters{}
}

// startCountersFrom makes the counters go on from c.
func (s *survival) startCountersFrom(c handover.Counters) {
	s.restarts.Store(c.Restarts)
	s.takenBack.Store(c.TakenBack)
	s.lost.Store(c.Lost)
}

// counters are the figures now, for the next process.
func (s *survival) counters() *handover.Counters {
	return &handover.Counters{Restarts: s.restarts.Load(), TakenBack: s.takenBack.Load(), Lost: s.lost.Load()}
}
