package admin

import (
	"bufio"
	"cmp"
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/registry"
)

// listClients answers GET /v1/clients: the clients the query selects, in
// its order. The answer for a full server is megabytes of JSON; it is
// written client by client through a buffer rather than built whole, so
// the daemon holds one client's encoding at a time, not the document.
func (s *Server) listClients(w http.ResponseWriter, r *http.Request) {
	q, err := adminapi.ParseClientQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	infos := s.opts.Clients.Snapshot()
	total := len(infos)
	infos = selectClients(infos, q, time.Now())

	startJSON(w, http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"clients":[`)
	var one []byte
	for i, info := range infos {
		if i > 0 {
			bw.WriteByte(',')
		}
		// Only our own API type is encoded; it always marshals.
		one, _ = json.Marshal(clientOf(info))
		if _, err := bw.Write(one); err != nil {
			return // the caller went away
		}
	}
	bw.WriteString(`],"total":` + strconv.Itoa(total) + "}\n")
	bw.Flush()
}

// selectClients keeps the clients q selects (idle measured at now), in
// q's order, at most q.Limit of them. infos comes sorted by ID and is
// filtered in place.
func selectClients(infos []registry.Info, q adminapi.ClientQuery, now time.Time) []registry.Info {
	kept := infos[:0]
	for _, info := range infos {
		if q.Remote.IsValid() && !remoteIn(info.RemoteAddr, q.Remote) {
			continue
		}
		if q.IdleOver > 0 && now.Sub(info.LastActiveAt) <= q.IdleOver {
			continue
		}
		kept = append(kept, info)
	}
	if by := order(q.Sort); by != nil {
		slices.SortStableFunc(kept, by) // stable: ties stay by ID
	}
	if q.Limit > 0 && len(kept) > q.Limit {
		kept = kept[:q.Limit]
	}
	return kept
}

// order compares two clients for a sort order, most notable first; nil
// for the ID order the snapshot already has.
func order(sort string) func(a, b registry.Info) int {
	switch sort {
	case adminapi.SortIdle: // least recently active first
		return func(a, b registry.Info) int { return a.LastActiveAt.Compare(b.LastActiveAt) }
	case adminapi.SortConnected: // connected earliest first
		return func(a, b registry.Info) int { return a.ConnectedAt.Compare(b.ConnectedAt) }
	case adminapi.SortIn:
		return func(a, b registry.Info) int { return cmp.Compare(b.BytesIn, a.BytesIn) }
	case adminapi.SortOut:
		return func(a, b registry.Info) int { return cmp.Compare(b.BytesOut, a.BytesOut) }
	}
	return nil
}

// remoteIn reports whether the IP of a remote address ("ip:port") is in
// p. An IPv4 client on a dual-stack listener shows as ::ffff:a.b.c.d and
// matches an IPv4 prefix.
func remoteIn(remote string, p netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	return p.Contains(ap.Addr().Unmap())
}
