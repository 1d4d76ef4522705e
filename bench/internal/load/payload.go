package load

import (
	"math/rand/v2"
	"strconv"
)

// alphabet is what messages are made of: lowercase letters, digits, space
// and a little punctuation. It has no 'c' at all, so neither a message nor
// its uppercase form can ever contain the close phrase "CLOSE SOCKET", and
// the expected reply is simply the ASCII uppercase of the message.
const alphabet = "abdefghijklmnopqrstuvwxyz0123456789 .,-"

// poolSlack is how far message windows may slide within the pool.
const poolSlack = 4096

// pool is a read-only run of random message bytes and its uppercase form;
// message k is pool.msg[off:off+size] with a random off, and its expected
// reply is pool.want at the same place.
type pool struct {
	msg, want []byte
	size      int
}

func newPool(size int, seed uint64) *pool {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	p := &pool{msg: make([]byte, size+poolSlack), want: make([]byte, size+poolSlack), size: size}
	for i := range p.msg {
		c := alphabet[r.IntN(len(alphabet))]
		p.msg[i] = c
		p.want[i] = upperASCII(c)
	}
	return p
}

func upperASCII(c byte) byte {
	if c-'a' < 26 {
		return c - ('a' - 'A')
	}
	return c
}

// at returns message and expected reply at offset off (0 ≤ off ≤ poolSlack).
func (p *pool) at(off int) (msg, want []byte) {
	return p.msg[off : off+p.size], p.want[off : off+p.size]
}

func itoa(n int) string { return strconv.Itoa(n) }

func quote(b []byte) string { return strconv.Quote(string(b)) }
