package chatclient

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultAddr is where chatd listens unless told otherwise.
const DefaultAddr = "127.0.0.1:5605"

// AddrEnv names the environment variable that sets the server address when
// no --addr flag is given.
const AddrEnv = "CHAT_ADDR"

// ResolveAddr picks the server address: the flag if it was given, else the
// CHAT_ADDR value from getenv if it is set and not blank, else DefaultAddr.
// source says where the address came from ("--addr", "CHAT_ADDR" or
// "default"), for error messages.
func ResolveAddr(flagValue string, flagSet bool, getenv func(string) string) (addr, source string) {
	if flagSet {
		return flagValue, "--addr"
	}
	if getenv != nil {
		if v := strings.TrimSpace(getenv(AddrEnv)); v != "" {
			return v, AddrEnv
		}
	}
	return DefaultAddr, "default"
}

// ValidateAddr checks that addr has the HOST:PORT form with a numeric port
// from 1 to 65535. An empty host means this machine, as in net.Dial. The
// error text is meant to follow `invalid address "ADDR": `.
func ValidateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return fmt.Errorf("%s (want HOST:PORT, e.g. %s)", strings.TrimSuffix(ae.Err, " in address"), DefaultAddr)
		}
		return fmt.Errorf("want HOST:PORT, e.g. %s", DefaultAddr)
	}
	if strings.ContainsAny(host, " \t\r\n") {
		return fmt.Errorf("host %q contains white space", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}
