// Package proxyheader takes the client's real address from a PROXY
// protocol header (v1 text or v2 binary, as HAProxy, nginx stream and cloud
// load balancers send it) on connections that come through a trusted load
// balancer. The header is parsed by github.com/pires/go-proxyproto; who may
// send one, when it is read and how much of the stream is read are decided
// here.
//
// # Who is trusted
//
// A header is believed only from a peer in the trusted list (addresses or
// CIDR prefixes; IPv4-mapped IPv6 peers match their IPv4 form). The
// library's own default believes a header from any peer, which would let
// every client claim any address: it is not used. From a trusted peer the
// header is required: a connection whose header is missing, malformed,
// or not complete within the header timeout is closed and logged, and
// costs nothing else (see package listen: the header is read off the
// accept loop, before the server counts the connection). A LOCAL header
// (the balancer's own health check), a v1 UNKNOWN one and a v2 PROXY one
// with the UNSPEC family (a connection the balancer cannot describe) keep
// the peer's address. A v2 header is judged by its 16 fixed bytes first: a
// version or command that does not exist, or a declared length beyond the
// 4 KiB chatd takes (the specification allows 64 KiB; chatd needs the
// addresses and room for TLVs), is refused there, never waited for.
//
// What happens to a connection from a peer that is not trusted is the
// Policy: Refuse (the default) closes it at once, unread, because with the
// PROXY protocol on, chatd is meant to be reached only through the balancer
// and a direct client would bypass its limits; Ignore serves it as a direct
// client under its own address, and whatever it sends, a PROXY header
// included, is chat text, never an address.
//
// # Exactly the header is read
//
// The header is read without reading past it: the first bytes are peeked
// (MSG_PEEK) until the header's length can be told from them, and exactly
// that many bytes are taken off the socket. So the returned Conn is the socket
// itself plus the client's address: no buffered bytes hide behind it,
// reads may go straight to the descriptor (SyscallConn), and the
// descriptor can be handed to a restarted process as it is (the header is
// not sent again; the new process gets the address from the hand-over and
// rebuilds the Conn with Restore).
package proxyheader
