// Package listen opens chatd's listening sockets and puts the work a new
// connection needs before it can be served (a PROXY protocol header, a TLS
// handshake) in front of the server's accept loop.
//
// # Several addresses
//
// Open takes the configured list of addresses (for example
// ["127.0.0.1:5605", "[::1]:5605"]) and listens on each. The wildcard rule
// is spelled out rather than left to the platform: "0.0.0.0:PORT" listens on
// IPv4 only, "[::]:PORT" (and an empty host, ":PORT") on IPv6 and IPv4 both,
// a literal address on exactly that address. A host name is refused: it may
// resolve to several addresses or change under us, and an operator who wants
// both families writes both addresses. Either every address is opened or
// none is (the ones already open are closed again), so a typo never leaves
// chatd half listening.
//
// # Handshakes before the server counts a connection
//
// The server counts a connection against max_clients the moment Accept
// returns it, and its accept loop is a single goroutine. Reading a PROXY
// header or finishing a TLS handshake takes a round trip at least and, from
// a slow or hostile peer, up to a timeout. Done on the accept goroutine, one
// such peer would stall every other connect; done after Accept, it would
// hold a max_clients place while it dawdles. HandshakeListener does it in
// between: it accepts on its own goroutine, runs the handshake of each new
// connection on a goroutine of its own under a deadline, and its Accept
// returns only connections whose handshake finished. A connection whose
// handshake fails or times out is closed and logged (the first failure at
// once, then at most one summary line per interval, so a flood cannot flood
// the log) and never reaches the server.
//
// # Nobody starves at the door
//
// A peer that connects and sends nothing holds a handshake for the whole
// timeout; were slots simply first come, first served, a few hundred such
// peers (reconnecting as they time out) would keep every honest client
// out. So under pressure the newcomer is taken in and an older handshake
// gives way (is closed), as nginx reclaims its oldest idle connections when
// it runs out of them.
// MaxPending bounds the handshakes in progress plus finished connections
// waiting for Accept; at the bound the oldest handshake in progress gives
// way. MaxPendingPerSource bounds the handshakes from one source (an IPv4
// address, an IPv6 /64); at it, that source's own oldest gives way, so one
// address cannot hold more than a small share whatever it does. An honest
// handshake takes a round trip or two; a stalled one is, by then, almost
// always the oldest. A finished connection never gives way: when every
// slot holds one the server has not accepted yet (it is not accepting),
// the listener stops accepting and further connects wait in the kernel's
// backlog. Every failure is counted by Reason (Stats) for the metrics.
package listen
