package chatclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNoticeReason(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		since  int
		want   string // "" for no reason
	}{
		{name: "kick", chunks: []string{"*** kicked by operator: spam\n"}, want: "kicked by operator: spam"},
		{name: "split across reads", chunks: []string{"HI\n**", "* server shut", "ting down\r", "\n"}, want: "server shutting down"},
		{name: "unfinished line", chunks: []string{"*** server full, try again later"}, want: "server full, try again later"},
		{name: "answer after notice", chunks: []string{"*** welcome\n", "HELLO\n"}, want: ""},
		{name: "unfinished answer after notice", chunks: []string{"*** welcome\nHEL"}, want: ""},
		{name: "blank lines after notice", chunks: []string{"*** bye\n\n  \n"}, want: "bye"},
		{name: "last of several", chunks: []string{"*** one\n*** two\n"}, want: "two"},
		{name: "not new since the mark", chunks: []string{"*** welcome\n"}, since: 1, want: ""},
		{name: "new since the mark", chunks: []string{"*** welcome\n*** bye\n"}, since: 1, want: "bye"},
		{name: "no notice", chunks: []string{"HELLO\n"}, want: ""},
		{name: "prefix only inside a line", chunks: []string{"X *** no\n"}, want: ""},
		{name: "control characters dropped", chunks: []string{"*** bad\x1b[2Jguy\x07\n"}, want: "bad[2Jguy"},
		{name: "empty notice", chunks: []string{"*** \n"}, want: ""},
		{name: "long line cut", chunks: []string{"*** " + strings.Repeat("x", 2000) + "\n"}, want: strings.Repeat("x", maxNoticeLen-len(NoticePrefix))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n noticeTracker
			for _, c := range tc.chunks {
				n.feed([]byte(c))
			}
			got, ok := n.reason(tc.since)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("reason = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestTermFilter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // output for each chunk, then for the final flush
	}{
		{name: "plain", chunks: []string{"HELLO\n"}, want: []string{"HELLO\n", ""}},
		{name: "controls shown, CR dropped", chunks: []string{"A\x1b[2J\tB\r\n\x7f"}, want: []string{"A^[[2J\tB\n^?", ""}},
		{name: "cut character held", chunks: []string{"\xc3", "\x9f!"}, want: []string{"", "ß!", ""}},
		{name: "cut 4-byte character", chunks: []string{"a\xf0\x9f", "\x98", "\x80b"}, want: []string{"a", "", "😀b", ""}},
		{name: "cut character at the end flushed", chunks: []string{"x\xe2\x82"}, want: []string{"x", "\xe2<82>"}}, // 0x82 alone is 8-bit C1
		{name: "invalid bytes pass", chunks: []string{"\xff\xfe"}, want: []string{"\xff\xfe", ""}},
		{name: "C1 CSI and OSC shown", chunks: []string{"A\u009b2J\u009d0;owned\u009cB"}, want: []string{"A<U+009B>2J<U+009D>0;owned<U+009C>B", ""}},
		{name: "C1 range ends", chunks: []string{"\u0080\u009f\u00a0é"}, want: []string{"<U+0080><U+009F>\u00a0é", ""}},
		{name: "C1 cut across reads", chunks: []string{"x\xc2", "\x9b31m"}, want: []string{"x", "<U+009B>31m", ""}},
		{name: "8-bit C1 byte shown", chunks: []string{"a\x9b31mb\x85"}, want: []string{"a<9B>31mb<85>", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f termFilter
			var got []string
			for _, c := range tc.chunks {
				got = append(got, string(f.filter([]byte(c), false)))
			}
			got = append(got, string(f.filter(nil, true)))
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDialErrorText(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5605},
			Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		err  error
		want string
	}{
		{op(syscall.ECONNREFUSED), "connection refused (is chatd running?)"},
		{op(syscall.ECONNRESET), "connection reset by server"},
		{op(syscall.ENETUNREACH), "network is unreachable"},
		{op(syscall.EHOSTUNREACH), "no route to host"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}, "timed out after 10s"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nohost.invalid", IsNotFound: true}}, `unknown host "nohost.invalid"`},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "h"}}, `cannot look up host "h": server misbehaving`},
		{errors.New("dial tcp 1.2.3.4:5: something odd"), "something odd"},
	}
	for _, tc := range tests {
		got := dialErrorText(tc.err, 10*time.Second)
		if got != tc.want {
			t.Errorf("dialErrorText(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "dial tcp") {
			t.Errorf("dialErrorText(%v) = %q still has Go's prefix", tc.err, got)
		}
	}
}

func TestConnErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "connection reset by server"},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, "connection closed by server"},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ETIMEDOUT)}, "connection timed out"},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.EHOSTUNREACH)}, "connection lost: no route to host"},
	}
	for _, tc := range tests {
		if got := connErrorText(tc.err); got != tc.want {
			t.Errorf("connErrorText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
