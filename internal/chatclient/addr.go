package chatclient

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
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
		if bracketed, ok := bracketIPv6(addr); ok {
			return fmt.Errorf("an IPv6 address needs brackets: %s", bracketed)
		}
		var ae *net.AddrError
		if errors.As(err, &ae) {
			example := DefaultAddr
			if strings.Contains(ae.Err, "colons") {
				example += " or [::1]:5605" // the colons may be an IPv6 address's
			}
			return fmt.Errorf("%s (want HOST:PORT, e.g. %s)", strings.TrimSuffix(ae.Err, " in address"), example)
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

// bracketIPv6 turns an IPv6 address with a port but without the brackets
// (::1:5605) into HOST:PORT form ([::1]:5605), if that is what addr is.
// The last colon is taken as the port's: with brackets missing it cannot
// be told apart from the address's own, and an address is more often
// given with a port than ending in a number group.
func bracketIPv6(addr string) (string, bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.Count(addr, ":") < 2 || strings.ContainsAny(addr, "[]") {
		return "", false
	}
	host, port := addr[:i], addr[i+1:]
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is6() {
		return "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", false
	}
	return net.JoinHostPort(host, port), true
}
