package config

import "github.com/chatd/chatd/internal/paths"

// AdminEndpoint is where chatd's admin API listens, as far as a client of
// it needs to know.
type AdminEndpoint struct {
	Socket string // admin.socket
	Group  string // admin.group, for a permission message
	// Default reports that nothing set admin.socket: Socket is chatd's
	// default for this user.
	Default bool
}

// AdminSocket reads only the admin socket and group, with chatd's own
// precedence: CHATD_ADMIN_SOCKET / CHATD_ADMIN_GROUP, then the explicit
// file (or the first readable default file), then the default. Nothing
// else in the file is checked: a client that only needs the socket must
// not be stopped by a key it does not use. A file that cannot be read or
// parsed is an *Error.
func AdminSocket(file string) (AdminEndpoint, error) {
	v := newViper()
	v.SetDefault("admin.socket", "")
	v.SetDefault("admin.group", "")
	if _, _, err := readFile(v, file); err != nil {
		return AdminEndpoint{}, err
	}
	ep := AdminEndpoint{Socket: v.GetString("admin.socket"), Group: v.GetString("admin.group")}
	if ep.Socket == "" {
		ep.Socket, ep.Default = paths.AdminSocket(), true
	}
	return ep, nil
}
