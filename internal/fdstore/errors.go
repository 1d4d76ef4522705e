package fdstore

import "errors"

// ErrNoNotifySocket means NOTIFY_SOCKET is unset: there is no service
// manager to keep descriptors for this process.
var ErrNoNotifySocket = errors.New("no NOTIFY_SOCKET: not started by systemd as Type=notify")
