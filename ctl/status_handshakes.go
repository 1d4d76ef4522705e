package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// handshakeReasons is the order failure reasons are shown in: the peer's
// doing first, then what chatd did under pressure. A reason chatd adds
// later is shown after these.
var handshakeReasons = []string{"timeout", "closed", "invalid", "untrusted", "displaced", "source_full"}

// handshakeLines are the status lines about connections not served yet:
// one per kind of handshake ("tls handshake", "proxy header").
func handshakeLines(hs []adminapi.Handshakes) [][2]string {
	var lines [][2]string
	for _, h := range hs {
		key := h.Stage + " handshake"
		if h.Stage == "proxy" {
			key = "proxy header"
		}
		lines = append(lines, [2]string{key, fmt.Sprintf("%d pending; %s", h.Pending, failedSummary(h.Failed))})
	}
	return lines
}

// failedSummary is "12 failed: 2 timeout, 10 displaced", or "none failed".
func failedSummary(failed map[string]uint64) string {
	reasons := make([]string, 0, len(failed))
	for r := range failed {
		reasons = append(reasons, r)
	}
	rank := func(r string) int {
		for i, known := range handshakeReasons {
			if r == known {
				return i
			}
		}
		return len(handshakeReasons)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if a, b := rank(reasons[i]), rank(reasons[j]); a != b {
			return a < b
		}
		return reasons[i] < reasons[j]
	})
	var total uint64
	var parts []string
	for _, r := range reasons {
		if n := failed[r]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	if total == 0 {
		return "none failed"
	}
	return fmt.Sprintf("%d failed: %s", total, strings.Join(parts, ", "))
}
