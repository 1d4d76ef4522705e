package instance

import (
	"sort"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// handshakesForAdmin reads the listeners' handshake counts (PROXY header,
// TLS) for the admin API's status and metrics.
func (d *Instance) handshakesForAdmin() []adminapi.Handshakes {
	d.mu.Lock()
	set := d.listeners
	d.mu.Unlock()
	if set == nil {
		return nil
	}
	var out []adminapi.Handshakes
	for stage, st := range set.HandshakeStats() {
		h := adminapi.Handshakes{Stage: stage, Pending: st.Pending, Failed: make(map[string]uint64, len(st.Failed))}
		for r, n := range st.Failed {
			h.Failed[string(r)] = n
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out
}
