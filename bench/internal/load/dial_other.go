//go:build !linux

package load

import "syscall"

// bindAddressNoPort is Linux-only (IP_BIND_ADDRESS_NO_PORT); elsewhere
// bind() picks the port, which is enough for the counts one machine holds.
func bindAddressNoPort(_, _ string, _ syscall.RawConn) error { return nil }
