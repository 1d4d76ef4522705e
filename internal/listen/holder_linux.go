package listen

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
)

// Holds reports whether the process pid has a socket listening on addr's
// port (on any of its addresses: a listener on 0.0.0.0:5605 takes
// 127.0.0.1:5605 too). known is false when this process may not look at
// pid's descriptors (another user's process, for anyone but root).
func Holds(pid int, addr string) (holds, known bool) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return false, false
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return false, false
	}
	inodes := listeningInodes(uint16(port))
	for _, fd := range fds {
		target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, true
		}
	}
	return false, true
}

// listeningInodes are the inodes of the TCP sockets listening on port, from
// /proc/net/tcp and tcp6: "sl local_address rem_address st ... inode",
// the port in hex after the address, state 0A for LISTEN.
func listeningInodes(port uint16) map[string]bool {
	inodes := map[string]bool{}
	want := strings.ToUpper(strconv.FormatUint(uint64(port), 16))
	for len(want) < 4 {
		want = "0" + want
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			if strings.HasSuffix(fields[1], ":"+want) {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	return inodes
}
