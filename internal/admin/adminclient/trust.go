package adminclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/chatd/chatd/internal/peercred"
	"github.com/chatd/chatd/internal/sockettrust"
)

// What to do about an admin socket chatctl does not trust; it has sent it
// nothing.
const (
	fixOwnSocket = "it is not yours: remove it (as root if need be), or set XDG_RUNTIME_DIR or --socket to a directory of your own; nothing was sent to it"
	fixSocket    = "use a socket in a directory only root or chatd's user can change (--socket, admin.socket); nothing was sent to it"
)

// afterTrustCheck runs between the path check and the connection; tests
// use it to replace the socket in that moment, as an attacker might.
var afterTrustCheck = func() {}

// dialTrusted connects to the admin socket, but only to one that nobody
// but root, this user or the socket's owner could have put at its path
// (see package sockettrust), and only if the process that answers is one
// of them, as the kernel recorded it (SO_PEERCRED, LOCAL_PEERCRED). Both
// checks come before a byte is sent: a request can say what the caller
// is up to, and an answer from a stranger must not be shown as chatd's.
func (c *Client) dialTrusted(ctx context.Context, dialer *net.Dialer) (net.Conn, error) {
	fix := fixSocket
	if c.OwnDefault {
		fix = fixOwnSocket
	}
	me := uint32(os.Geteuid())
	keeper, found, err := sockettrust.Keeper(c.socket, me, c.OwnDefault, fix)
	if err != nil {
		return nil, err
	}
	afterTrustCheck()
	conn, err := dialer.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, err
	}
	cred, err := peercred.Get(conn)
	if errors.Is(err, peercred.ErrUnsupported) {
		return conn, nil // the path check is all there is
	}
	if err == nil {
		err = sockettrust.CheckPeer(c.socket, cred.UID, cred.PID, me, keeper, found, fix)
	} else {
		err = fmt.Errorf("admin socket %s: %w", c.socket, err)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
