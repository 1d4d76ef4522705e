package instance

import (
	"fmt"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// Under systemd (Type=notify) chatd tells the service manager when it is
// ready, reloading and stopping. Outside systemd, NOTIFY_SOCKET is unset and
// every call is a no-op.

// notifyReady says the chat listener and the admin socket are up.
func (d *Instance) notifyReady() {
	d.notify(sd.SdNotifyReady + "\nSTATUS=" + d.servingStatus())
}

// servingStatus is the STATUS= line while chatd serves.
func (d *Instance) servingStatus() string {
	if a := d.Addr(); a != nil {
		if deg := d.Survival().Degraded; deg != "" {
			return "serving on " + a.String() + " on the LAST GOOD CONFIG; the config is broken: " + deg
		}
		return "serving on " + a.String()
	}
	return "not listening"
}

// notifyReloading says a reload has begun. MONOTONIC_USEC lets systemd 253+
// tell this reload from an earlier one; older versions ignore it.
func (d *Instance) notifyReloading() {
	d.notify(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sd.SdNotifyReloading, monotonicUsec()))
}

// notifyReloaded says the reload is over (applied or rejected).
func (d *Instance) notifyReloaded(status string) {
	d.notify(sd.SdNotifyReady + "\nSTATUS=" + status)
}

// notifyStopping says the drain has begun.
func (d *Instance) notifyStopping() { d.notify(sd.SdNotifyStopping) }

func (d *Instance) notify(state string) {
	sent, err := sd.SdNotify(false, state)
	switch {
	case err != nil:
		d.log.Warn("cannot notify the service manager", "state", state, "err", err.Error())
	case sent:
		d.log.Debug("notified the service manager", "state", state)
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as systemd wants it.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now().UnixMicro()
	}
	return ts.Nano() / 1e3
}
