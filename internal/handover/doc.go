// Package handover carries a running chatd's clients over to the next chatd
// process on a planned restart or upgrade, so that no client notices more
// than a pause.
//
// Two things cross: the sockets (the listener and every connection) and
// what chatd knows about each connection. Under systemd the sockets wait in
// the service manager's file-descriptor store (package fdstore), which also
// keeps them across a crash. Without systemd (launchd, a foreground
// `chatd run`) there is nobody to hold them, so a planned restart re-execs
// the new binary in place (Reexec): same PID, the sockets inherited as open
// descriptors. A crash there drops the clients.
//
// # The state format
//
// What chatd knows per connection (ID, socket and client addresses,
// connected-at, bytes in and out, last active, and the protocol's own
// opaque state: close-phrase progress and held UTF-8 bytes) is written by
// the old process after it has stopped reading and finished its writes,
// and read by the new one before it reads again. The format is binary,
// not JSON, for one reason: a damaged hand-over must cost only the entries
// it damaged. Every record carries its own length and CRC-32C, so a flipped
// bit is caught in the one record it hit (JSON would happily parse a
// changed digit), and a record start marker lets the reader find the next
// good record after a damaged length. Fields inside a record are tagged, so
// a field added later (for example the client address a PROXY protocol
// header gives) is skipped by an older reader rather than misread. The
// header record counts the connections, so a truncated hand-over is
// reported too. The reader never panics on any input (FuzzDecode); what it
// could not read it reports, and the server closes those connections with
// a notice while it serves the rest.
//
// # Where the state lives
//
// In a memfd, sealed after writing, that travels with the sockets: stored in
// systemd's store under fdstore.StateName, or inherited by the re-exec'd
// image, which then finds it by the one number in CHATD_HANDOVER_FD and
// every other inherited descriptor by the table inside it. Not in RuntimeDirectory=: systemd removes that directory on every
// stop, `systemctl restart` included, unless RuntimeDirectoryPreserve= is
// set, and a file left there would be found by a later start that should
// not see it. The store gives the memfd exactly the sockets' lifetime: kept
// through a restart, flushed by a stop. The new process removes it from the
// store as soon as it has read it, so a later crash never replays an old
// state onto connections that have moved on.
package handover
