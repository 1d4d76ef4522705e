package instance

import (
	"log/slog"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// socketsHeldTwice is set when the connections are also held in the
// descriptor store's holder and the kernel limits what is in flight there
// to RLIMIT_NOFILE (fdstore.InflightLimited: chatd has neither
// CAP_SYS_RESOURCE nor CAP_SYS_ADMIN, as in its unit even as root). A
// holder rebuild has every live connection in flight twice for a moment,
// so then every client costs two descriptors of the limit.
var socketsHeldTwice atomic.Bool

// fdReserve is how many file descriptors chatd keeps for itself beyond one
// per client: the listener, the admin socket and its connections, log
// output, the state file, the poller, and the spare the server frees to
// shed connections when it runs out. Redis keeps 32; the admin API needs
// more headroom.
const fdReserve = 64

// clientsThatFit is how many clients the open-file limit leaves room for,
// or -1 if the limit cannot be read.
func clientsThatFit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return -1
	}
	if rl.Cur > 1<<30 {
		return 1 << 30
	}
	fit := max(1, int(rl.Cur)-fdReserve)
	if socketsHeldTwice.Load() {
		fit = max(1, fit/2)
	}
	return fit
}

// fitMaxClients lowers a configured max_clients that the open-file limit
// could not hold, so the server sheds the excess with the server-full
// notice instead of failing accepts.
func fitMaxClients(configured int) int {
	if fit := clientsThatFit(); fit > 0 && configured > fit {
		return fit
	}
	return configured
}

// warnIfMaxClientsLowered says so at start and on reload, as Redis does.
func warnIfMaxClientsLowered(log *slog.Logger, configured int) {
	if got := fitMaxClients(configured); got < configured {
		log.Warn("max_clients lowered to fit the open-file limit (raise LimitNOFILE / ulimit -n to allow more)",
			"configured", configured, "effective", got, "reserved_fds", fdReserve)
	}
}
