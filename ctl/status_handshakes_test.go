package main

import (
	"reflect"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

func TestHandshakeLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []adminapi.Handshakes
		want [][2]string
	}{
		{"plain only", nil, nil},
		{"quiet", []adminapi.Handshakes{{Stage: "tls", Failed: map[string]uint64{"timeout": 0}}},
			[][2]string{{"tls handshake", "0 pending; none failed"}}},
		{"under attack", []adminapi.Handshakes{
			{Stage: "proxy", Pending: 3, Failed: map[string]uint64{"untrusted": 1, "timeout": 2}},
			{Stage: "tls", Pending: 16, Failed: map[string]uint64{"source_full": 584, "displaced": 0, "closed": 1, "later": 5}},
		}, [][2]string{
			{"proxy header", "3 pending; 3 failed: 2 timeout, 1 untrusted"},
			{"tls handshake", "16 pending; 590 failed: 1 closed, 584 source_full, 5 later"},
		}},
	} {
		if got := handshakeLines(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
