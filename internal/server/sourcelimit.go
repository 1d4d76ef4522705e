package server

import (
	"net"

	"github.com/chatd/chatd/internal/sourcelimit"
)

// The per-source limit (max_clients_per_source): one address, or one IPv6
// /64, may hold only so many client places, so that a single source cannot
// take all of max_clients. The source is the connection's RemoteAddr,
// which behind a load balancer speaking the PROXY protocol is the real
// client's address, not the balancer's.
//
// A connection's source is not stored on the conn (every idle connection
// would pay for it): it is worked out again from the client's address when
// the connection ends, which gives the same source.

// admitSource counts nc against its source. It reports false when the
// source is at its limit: the connection has then been handed to a
// goroutine that sends the source-full notice and closes it, and holds
// none of the server's places.
func (s *Server) admitSource(nc net.Conn, st *Settings) bool {
	src, ok := s.sources.Acquire(nc.RemoteAddr())
	if ok {
		return true
	}
	s.stats.SourceRejected.Add(1)
	s.sourceRejectLg.note(src.String())
	go func() {
		defer s.wg.Done()
		s.reject(nc, st.SourceFullNotice)
	}()
	return false
}

// releaseSource uncounts a connection admitSource let in.
func (s *Server) releaseSource(remote net.Addr) {
	s.sources.Release(sourcelimit.SourceOf(remote))
}

// SourcesConnected is the number of sources with a client connected.
func (s *Server) SourcesConnected() int { return s.sources.Sources() }
