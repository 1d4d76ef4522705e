package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// sshHostSpec is one host behind the test's sshd: a port on loopback of
// the test's network namespace, and what a session there finds.
type sshHostSpec struct {
	alias  string // its name in the test's ssh client config
	port   int
	socket string // CHATD_ADMIN_SOCKET in a session there
	path   string // PATH in a session there
	// unknown leaves its host key out of the client's known_hosts.
	unknown bool
}

// sshNet is a network namespace with an sshd per host on its loopback,
// each passing its host's CHATD_ADMIN_SOCKET and PATH to the sessions it
// starts (sshd_config SetEnv: no ForceCommand, so the command that runs
// is the one chatctl sends, `chatctl dial-stdio`, found on that PATH).
// Keys are throwaway: a host key that the client's known_hosts file
// holds, checked strictly, and a client key that the sshd accept. The
// host's own ~/.ssh and /etc/ssh are never read or written: sshd gets
// its own config file, and the ssh that chatctl runs is a wrapper on
// chatctl's PATH that gives the real ssh the test's client config (-F).
type sshNet struct {
	t      *testing.T
	dir    string
	nsPid  int      // a process in the namespace, for nsenter
	ctlEnv []string // PATH with the ssh wrapper first
	logs   *lockedLog
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// needSSHD skips the test where sshd cannot be run as the tests need.
func needSSHD(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sshd runs in a network namespace the test creates")
	}
	for _, tool := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "unshare", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian's openssh-server, util-linux, iproute2; .ci/run installs them)", tool)
		}
	}
}

func startSSHNet(t *testing.T, hosts []sshHostSpec) *sshNet {
	t.Helper()
	needSSHD(t)
	dir, err := os.MkdirTemp("", "chatd-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &sshNet{t: t, dir: dir, logs: &lockedLog{}}
	file := func(name string) string { return filepath.Join(dir, name) }
	for _, key := range []string{"host_key", "client_key"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "chatd-test", "-f", file(key)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	hostPub := s.read("host_key.pub")
	s.write("authorized_keys", s.read("client_key.pub"), 0o600)

	var known, clientCfg, script strings.Builder
	script.WriteString("set -e; ip link set lo up; mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -m 0755 /run/sshd\n")
	for _, h := range hosts {
		if !h.unknown {
			fmt.Fprintf(&known, "[127.0.0.1]:%d %s\n", h.port, hostPub)
		}
		fmt.Fprintf(&clientCfg, "Host %s\n  HostName 127.0.0.1\n  Port %d\n", h.alias, h.port)
		cfg := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
AuthorizedKeysFile %s
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv PATH=%s CHATD_ADMIN_SOCKET=%s
`, h.port, file("host_key"), file("authorized_keys"), h.path, h.socket)
		name := fmt.Sprintf("sshd_config.%d", h.port)
		s.write(name, cfg, 0o644)
		fmt.Fprintf(&script, "/usr/sbin/sshd -D -e -f %s &\n", file(name))
	}
	script.WriteString("wait\n")
	s.write("known_hosts", known.String(), 0o644)
	fmt.Fprintf(&clientCfg, `Host *
  User root
  IdentityFile %s
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
`, file("client_key"), file("known_hosts"))
	s.write("ssh_config", clientCfg.String(), 0o644)

	realSSH, _ := exec.LookPath("ssh")
	os.Mkdir(file("clientbin"), 0o755)
	s.write("clientbin/ssh", fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", realSSH, file("ssh_config")), 0o755)
	s.ctlEnv = []string{"PATH=" + file("clientbin") + ":" + os.Getenv("PATH")}

	// unshare is the namespace's first process and, with --kill-child,
	// takes every sshd with it when it is killed.
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private",
		"--pid", "--fork", "--kill-child", "sh", "-c", script.String())
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.logs.String())
		}
	})
	s.nsPid = cmd.Process.Pid
	if !testbin.Poll(20*time.Second, func() bool {
		return strings.Count(s.logs.String(), "Server listening on") == len(hosts)
	}) {
		t.Fatalf("the sshd did not all start listening; log:\n%s", s.logs.String())
	}
	return s
}

func (s *sshNet) read(name string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (s *sshNet) write(name, content string, mode os.FileMode) {
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), mode); err != nil {
		s.t.Fatal(err)
	}
}

// ctl runs the real chatctl in the namespace, where the sshd listen,
// with env added and stdin given.
func (s *sshNet) ctl(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/" + fmt.Sprint(s.nsPid) + "/ns/net", "--",
		testbin.Path(t, "chatctl")}, args...)...)
	return runCtl(t, cmd, append(append([]string{}, s.ctlEnv...), env...), stdin)
}

// ssh runs the test's ssh client in the namespace.
func (s *sshNet) ssh(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/" + fmt.Sprint(s.nsPid) + "/ns/net", "--",
		filepath.Join(s.dir, "clientbin", "ssh")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// remoteBin is a directory holding the test build of chatctl under its
// own name, for the PATH of the sessions.
func remoteBin(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Symlink(testbin.Path(t, "chatctl"), filepath.Join(d, "chatctl")); err != nil {
		t.Fatal(err)
	}
	return d
}
