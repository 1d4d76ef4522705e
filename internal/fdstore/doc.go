// Package fdstore keeps chatd's sockets alive across a crash or a restart of
// the process by parking them in systemd's file-descriptor store, and hands
// them back to the next process.
//
// # What systemd offers
//
// A unit with FileDescriptorStoreMax= may send file descriptors to the
// service manager over NOTIFY_SOCKET ("FDSTORE=1", "FDNAME=name"). PID 1
// keeps a duplicate of each while the unit is active, auto-restarting after
// a crash, or has a restart job queued, and gives them all to the next
// process through LISTEN_FDS / LISTEN_FDNAMES. A stop flushes the store.
// Because PID 1 holds a duplicate, a TCP connection whose descriptor is in
// the store stays open when chatd dies, and the next chatd answers on it.
//
// # Why a holder socket and not one store entry per connection
//
// On systemd 252 PID 1 compares every newly stored descriptor with every one
// it already holds, so storing each connection costs more the fuller the
// store is: 6,000 single adds cost PID 1 about 17 s of CPU and cut the accept
// rate tenfold. Instead chatd stores one end of a SOCK_SEQPACKET socketpair
// (the holder) once, and sends every accepted connection into the other end
// with SCM_RIGHTS, up to 253 descriptors per message (the kernel's
// SCM_MAX_FD). Descriptors in flight inside a socket's receive queue keep
// their files open exactly as an open descriptor does, so the connections
// survive as long as the stored read end survives. The next process drains
// the read end and has every connection back; PID 1 only ever holds a
// handful of entries and spends no time on them.
//
// # Why FDPOLL=0
//
// PID 1 watches the stored descriptors and drops any that reports POLLHUP or
// POLLERR, which is right for a stored client connection whose peer went
// away. The holder's read end reports POLLHUP the moment its write end is
// closed, and the write end is closed exactly when chatd dies: without
// "FDPOLL=0" PID 1 would throw the holder away at the one moment it is
// needed, and every connection with it.
//
// # Why an unconnected datagram socket to talk to PID 1
//
// Go's connected unixgram net.UnixConn refuses WriteMsgUnix with an address
// (net.ErrWriteToConnected) and go-systemd has no helper that sends
// descriptors, so Notifier uses a plain unconnected SOCK_DGRAM socket and
// sendmsg(2) with NOTIFY_SOCKET as the destination each time.
//
// # The holder's limits, and what it does about them
//
//   - Messages in flight are charged to the sender's socket buffer
//     (SO_SNDBUF); when it is full sendmsg fails with EAGAIN. The holder
//     asks for a large buffer (SO_SNDBUFFORCE when privileged, otherwise
//     SO_SNDBUF up to net.core.wmem_max) and, when a shard is still full,
//     opens another socketpair (a new shard, stored under its own name).
//   - The descriptors in flight are limited to RLIMIT_NOFILE, counted per
//     user apart from those the process has open (the kernel's
//     too_many_unix_fds rule), unless the process has CAP_SYS_RESOURCE or
//     CAP_SYS_ADMIN (InflightLimited); being root is not enough. A rebuild
//     (below) has every live connection in flight twice for a moment, in
//     the old socketpair and the new one: so a limited process holds at
//     most half its RLIMIT_NOFILE in clients.
//   - A descriptor in flight cannot be taken out on its own. A connection
//     that ends stays referenced inside the holder, so its peer would never
//     see FIN after a plain close(2): always shutdown(2) a held connection
//     before closing it (CloseHeld does), and tell the holder (Forget). When
//     the dead entries reach half the live ones (and at least
//     RebuildMinDead), or what is in flight nears an unprivileged user's
//     RLIMIT_NOFILE, the holder is rebuilt: a new
//     socketpair receives only the live connections, is stored under a new
//     name, and the old one is removed with FDSTOREREMOVE=1, which releases
//     the dead sockets for good.
//   - New connections are sent in batches (at most one batch interval, 50 ms
//     or less, behind the accept loop) so that a burst of accepts costs one
//     sendmsg per 253 connections instead of one each.
//
// # What a crash can lose
//
// A crash (kill -9, OOM kill, a fatal error) loses only what lived in the
// process alone: connections accepted within the last batch interval that
// were not yet sent into a holder (they are closed by the kernel when the
// process dies, and their clients see a reset or EOF), the bytes chatd had
// read from a client and not yet answered, and the per-connection counters
// and protocol state that are not part of the holder message (the holder
// carries each connection's ID). A planned restart loses none of these: the
// old process stops reading, flushes the holder and writes the rest of the
// state out before it exits.
//
// Taking descriptors: always through SyscallConn().Control, never
// (*net.TCPConn).File().Fd(), which can switch the socket to blocking mode
// for every duplicate. Restoring: os.NewFile, net.FileConn, then close the
// os.File (not the raw number, or its finalizer closes a reused number
// later and kills an unrelated connection); FileConn does all of that.
//
// Everything here except the Files helper needs Linux; elsewhere the
// constructors return errors.ErrUnsupported.
package fdstore
