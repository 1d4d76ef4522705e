// Package tlslisten serves chat over TLS beside the plain listener.
//
// # Policy
//
// TLS 1.2 and 1.3 only (older versions have known weaknesses and no client
// worth serving needs them); everything else (cipher suites, curves,
// session tickets) is Go's default, which tracks current advice better
// than a list frozen in a config file. With a client CA configured, every
// client must present a certificate that CA signed
// (RequireAndVerifyClientCert): an optional client certificate would
// authenticate nobody.
//
// # Renewal without dropping anyone
//
// The certificate is handed out per handshake (GetCertificate, through
// GetConfigForClient so the client CA can be renewed too), never baked
// into a listener. Update loads the files again, checks them (the key
// matches the certificate, the certificate parses and has not expired, the
// CA file has a certificate) and only then swaps them in: connected clients
// keep their sessions, new handshakes get the new certificate, and a bad
// file is refused with the reason while the old certificate stays.
//
// # Handshakes before the server counts a connection
//
// Listen runs the handshake on a listen.HandshakeListener: off the accept
// loop, bounded by a timeout, and before Accept returns the connection,
// so a client that opens a connection and never finishes its handshake
// holds no max_clients place, only a pending-handshake slot until the
// timeout.
//
// TLS state lives only in this process: a TLS connection cannot be handed
// to a restarted process the way a plain socket can.
package tlslisten
