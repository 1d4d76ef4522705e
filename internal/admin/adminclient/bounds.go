package adminclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// What chatctl holds of an answer is bounded by what a real chatd sends:
// a listing has at most as many clients as the chatd lets connect, each a
// few hundred bytes of JSON. A hostile program on the socket (or on a
// remote host's) could otherwise make chatctl hold whatever it sends.
const (
	// MaxHostClients bounds the clients one chatd's listing may have,
	// whatever max_clients it claims: the packaged service's open-file
	// limit (65536, half of it for the clients' sockets when they survive
	// restarts) gives 32,768 at most, and chatd is tested at 20,000.
	MaxHostClients = 1 << 17
	// MaxListedClients bounds the clients of all the hosts one command
	// lists at once (see ListBudget).
	MaxListedClients = 1 << 19
	// maxClientJSON bounds what a listing's decoder holds at once: one
	// client's JSON, which for a real chatd is under 400 bytes (two
	// addresses, two timestamps, three numbers), and what it has read
	// ahead. Read-ahead much smaller than this makes many small reads.
	maxClientJSON = 64 << 10
	// maxAddrLen bounds an address: "[IPv6%zone]:port" is under 64 bytes.
	maxAddrLen = 128
	// maxSmallAnswer bounds every answer that is not a listing or a bulk
	// kick (a status, a reload's result, an error).
	maxSmallAnswer = 1 << 20
	// maxKickOutcomeJSON bounds one client's line of a bulk kick's answer
	// (`{"id":18446744073709551615,"result":"still-closing"}`).
	maxKickOutcomeJSON = 128
)

// TooLargeError says that an answer is larger than a real chatd's.
type TooLargeError struct{ What string }

func (e *TooLargeError) Error() string { return e.What }

// ListBudget bounds the clients that several listings (one per host,
// asked at once) hold together. It is safe for concurrent use.
type ListBudget struct {
	size int
	left atomic.Int64
}

// NewListBudget returns a budget of n clients.
func NewListBudget(n int) *ListBudget {
	b := &ListBudget{size: n}
	b.left.Store(int64(n))
	return b
}

// SetListBudget makes the client's listings draw on b.
func (c *Client) SetListBudget(b *ListBudget) { c.budget = b }

// take draws one client from the budget; false when none is left.
func (b *ListBudget) take() bool { return b == nil || b.left.Add(-1) >= 0 }

// listBound is the most clients a listing for q may have: q's limit, or
// what the chatd's status says it lets connect (max_clients, or the
// clients connected when a reload lowered it below them) with room for a
// reload raising it meanwhile; never more than MaxHostClients.
func (c *Client) listBound(ctx context.Context, limit int) (bound int, why string) {
	if limit > 0 {
		return min(limit, MaxHostClients), fmt.Sprintf("the --limit of %d", limit)
	}
	st, err := c.Status(ctx)
	if err != nil || st.MaxClients <= 0 {
		// The listing itself will say what is wrong, if anything.
		return MaxHostClients, fmt.Sprintf("chatctl's limit of %d for one chatd", MaxHostClients)
	}
	n := max(st.MaxClients, st.ClientsConnected)
	if n >= MaxHostClients {
		return MaxHostClients, fmt.Sprintf("chatctl's limit of %d for one chatd", MaxHostClients)
	}
	return min(n+n/10+100, MaxHostClients), fmt.Sprintf("its max_clients of %d", st.MaxClients)
}

// windowReader lets a json.Decoder read no further than window bytes
// past the value it is at: whatever one value of the answer is, the
// decoder never holds more than that.
type windowReader struct {
	r      io.Reader
	window int64
	read   int64
	offset func() int64 // the decoder's position
	what   string       // for the error: "a client"
}

func (w *windowReader) Read(p []byte) (int, error) {
	room := w.window - (w.read - w.offset())
	if room <= 0 {
		return 0, &TooLargeError{What: fmt.Sprintf("%s of more than %d bytes", w.what, w.window)}
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := w.r.Read(p)
	w.read += int64(n)
	return n, err
}

// tooLarge finds a *TooLargeError in err.
func tooLarge(err error) (*TooLargeError, bool) {
	var tl *TooLargeError
	return tl, errors.As(err, &tl)
}

// capReader is io.LimitReader that says so when the limit is reached,
// rather than ending the answer as if it were complete.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, &TooLargeError{What: "an answer larger than a real chatd's"}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
