package config

import (
	"net"
	"os"
	"strings"
)

// ChatAddress reads only `listen`, with chatd's own precedence
// (CHATD_LISTEN, then the explicit file or the first readable default
// file), and returns the address a client on this machine dials to reach
// chatd's first plain listener, and where that came from. addr is ""
// when nothing sets `listen` (chatd's default applies) or when it names
// no fixed port (port 0). A file that cannot be read or parsed is an
// *Error, as for AdminSocket.
func ChatAddress(file string) (addr, source string, err error) {
	v := newViper()
	used, _, err := readFile(v, file)
	if err != nil {
		return "", "", err
	}
	listen := firstListen(v.Get("listen"))
	if listen == "" {
		return "", "", nil
	}
	source = "file " + used
	if os.Getenv(EnvPrefix+"_LISTEN") != "" {
		source = "environment " + EnvPrefix + "_LISTEN"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", &Error{Source: source, Key: "listen", Value: listen, Reason: "must be HOST:PORT, like 127.0.0.1:5605"}
	}
	if port == "0" {
		return "", "", nil // a free port, chosen at each start
	}
	return net.JoinHostPort(dialHost(host), port), source, nil
}

// firstListen is the first address of `listen`, whether it is one
// address, a list, or addresses separated by commas or blanks.
func firstListen(v any) string {
	switch l := v.(type) {
	case string:
		if f := strings.FieldsFunc(l, func(r rune) bool { return r == ',' || r == ' ' }); len(f) > 0 {
			return f[0]
		}
	case []any:
		for _, a := range l {
			if s, ok := a.(string); ok && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
		}
	case []string:
		if len(l) > 0 {
			return strings.TrimSpace(l[0])
		}
	}
	return ""
}

// dialHost is the host to dial for a listening host: a listener on every
// interface is reached on the loopback address of its family.
func dialHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::", "[::]":
		return "::1"
	}
	return host
}
