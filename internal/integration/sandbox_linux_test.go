package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bootScript runs as PID 1's parent-to-be inside the new namespaces: it
// makes every place the test may write private to the sandbox, gives it
// its own /dev, masks the boot units that would reach the host, and execs
// systemd. The masks are not optional: systemd-tmpfiles-setup alone would
// empty the host's /tmp, which the sandbox shares. The private /dev keeps
// systemd from creating /dev/log, /dev/initctl, /dev/hugepages and
// /dev/mqueue on the host's devtmpfs.
const bootScript = `
set -e
S=$1
shift
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /run # as a real boot mounts it: root's, not world-writable
mkdir -p /run/systemd
mount -t tmpfs tmpfs "$S"
for d in "$@"; do
	n=$(printf '%s' "$d" | tr / _)
	mkdir -p "$S/$n/upper" "$S/$n/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$S/$n/upper,workdir=$S/$n/work" "$d"
done
mkdir "$S/dev"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$S/dev"
for n in null zero full random urandom tty; do
	touch "$S/dev/$n"
	mount --bind "/dev/$n" "$S/dev/$n"
done
mkdir "$S/dev/pts" "$S/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$S/dev/pts"
ln -s pts/ptmx "$S/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$S/dev/shm"
ln -s /proc/self/fd "$S/dev/fd"
ln -s /proc/self/fd/0 "$S/dev/stdin"
ln -s /proc/self/fd/1 "$S/dev/stdout"
ln -s /proc/self/fd/2 "$S/dev/stderr"
mount --move "$S/dev" /dev
for u in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
	systemd-tmpfiles-clean.timer systemd-sysctl.service systemd-binfmt.service \
	systemd-modules-load.service systemd-remount-fs.service systemd-sysusers.service \
	systemd-update-utmp.service systemd-journal-flush.service \
	timers.target apt-daily.service apt-daily-upgrade.service modprobe@.service \
	systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
	systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-pstore.service \
	systemd-timesyncd.service systemd-hwdb-update.service systemd-random-seed.service \
	systemd-firstboot.service systemd-machine-id-commit.service ldconfig.service \
	proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
	sys-fs-fuse-connections.mount sys-kernel-config.mount sys-kernel-debug.mount \
	sys-kernel-tracing.mount kmod-static-nodes.service; do
	ln -sf /dev/null "/etc/systemd/system/$u"
done
for t in /etc/systemd/system/timers.target.wants/*.timer; do
	[ -e "$t" ] || continue
	ln -sf /dev/null "/etc/systemd/system/${t##*/}"
done
export container=other
exec "$SYSTEMD" --system --unit=basic.target
`

// wrapper moves itself into the sandbox's cgroups, then becomes unshare.
const wrapper = `for f in $SANDBOX_CGROUP_PROCS; do echo $$ >"$f" || exit 97; done
exec unshare --pid --fork --kill-child --mount --mount-proc --net --uts --ipc --propagation private bash -c "$@"`

// sandbox is a running throwaway systemd.
type sandbox struct {
	t       testing.TB
	scratch string // overlay upper layers live in a tmpfs mounted here, inside only
	cmd     *exec.Cmd
	exited  chan struct{}
	pid1    int // the sandbox's systemd, as the host sees it
	log     *bytes.Buffer
	cgroups *cgroupSet
	env     []string
}

// bootSandbox starts systemd in new namespaces with overlays on dirs and
// waits until it is running. Cleanup powers it off and checks nothing is
// left behind.
func bootSandbox(t testing.TB, ctx context.Context, dirs []string, env []string) *sandbox {
	t.Helper()
	systemd := findSystemd()
	scratch, err := os.MkdirTemp("/dev/shm", "chatd-sandbox.")
	if err != nil {
		t.Fatalf("scratch dir: %v", err)
	}
	cgs, err := newCgroupSet(filepath.Base(scratch))
	if err != nil {
		os.Remove(scratch)
		t.Skipf("cannot create a cgroup for the sandbox (%v); skipping", err)
	}
	s := &sandbox{t: t, scratch: scratch, log: &bytes.Buffer{}, cgroups: cgs, exited: make(chan struct{}), env: env}
	args := append([]string{"-c", wrapper, "sandbox", bootScript, "sandbox", scratch}, dirs...)
	s.cmd = exec.Command("/bin/sh", args...)
	s.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD=" + systemd,
		"SANDBOX_CGROUP_PROCS=" + strings.Join(cgs.procs, " ")}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := s.cmd.Start(); err != nil {
		cgs.remove(time.Second)
		os.Remove(scratch)
		t.Fatalf("start the sandbox: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.shutdown)

	if !poll(ctx, 20*time.Second, func() bool {
		s.pid1 = childOf(s.cmd.Process.Pid)
		return s.pid1 > 0 && procComm(s.pid1) == "systemd"
	}) {
		t.Fatalf("systemd did not start in the sandbox; its output:\n%s", s.logText())
	}
	var state string
	if !poll(ctx, 60*time.Second, func() bool {
		out, _ := s.output(ctx, 5*time.Second, "systemctl", "is-system-running")
		state = strings.TrimSpace(out)
		return state == "running" || state == "degraded"
	}) {
		t.Fatalf("the sandbox's systemd did not come up (state %q); its output:\n%s", state, s.logText())
	}
	if state == "degraded" {
		out, _ := s.output(ctx, 10*time.Second, "systemctl", "--failed", "--no-pager")
		t.Logf("sandbox systemd is degraded (not chatd's doing):\n%s", out)
	}
	return s
}

func (s *sandbox) logText() string {
	select {
	case <-s.exited:
		return s.log.String()
	default:
		return "(still running)"
	}
}

// nsenter returns the command that runs args inside the sandbox.
func (s *sandbox) nsenter(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(s.pid1), "-a", "--"}, args...)...)
	cmd.Env = s.env
	cmd.Dir = "/"
	cmd.WaitDelay = time.Second
	return cmd
}

// output runs args inside the sandbox within timeout and returns its
// standard output; the error carries standard error.
func (s *sandbox) output(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := s.nsenter(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// must is output that fails the test on error.
func (s *sandbox) must(ctx context.Context, timeout time.Duration, args ...string) string {
	s.t.Helper()
	out, err := s.output(ctx, timeout, args...)
	if err != nil {
		s.t.Fatalf("in the sandbox: %v\n%s", err, out)
	}
	return out
}

// sh runs a shell script inside the sandbox.
func (s *sandbox) sh(ctx context.Context, timeout time.Duration, script string) string {
	s.t.Helper()
	return s.must(ctx, timeout, "sh", "-c", script)
}

// dial connects to addr from inside the sandbox's network namespace. The
// socket is created on a thread that joined that namespace and stays in
// it; the connection is then used from the test like any other.
func (s *sandbox) dial(addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked: it ends with this goroutine
		// instead of going back to the pool inside the sandbox's netns.
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", s.pid1))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// shutdown powers the sandbox off, makes sure nothing of it is left
// running, and removes its cgroups and scratch directory.
func (s *sandbox) shutdown() {
	t := s.t
	if s.pid1 > 0 && t.Failed() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _ := s.output(ctx, 10*time.Second, "journalctl", "--no-pager", "-n", "150", "-u", "chatd")
		cancel()
		t.Logf("chatd's journal in the sandbox:\n%s", out)
	}
	if s.pid1 > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.nsenter(ctx, "systemctl", "poweroff").Run() // the connection may drop: fine
		cancel()
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("the sandbox did not power off within 30s; killing it")
		s.cmd.Process.Kill() // unshare --kill-child takes PID 1, and so the namespace, with it
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	}
	s.cgroups.kill()
	if err := s.cgroups.remove(10 * time.Second); err != nil {
		t.Errorf("remove the sandbox's cgroups: %v", err)
	}
	if left := s.cgroups.dirs(); len(left) > 0 {
		t.Errorf("the sandbox's cgroups are still there: %v", left)
	}
	if err := os.Remove(s.scratch); err != nil {
		t.Errorf("remove the sandbox's scratch dir: %v", err)
	}
}

func findSystemd() string {
	for _, p := range []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/usr/bin/systemd"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// childOf returns a child process of pid, or 0.
func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
		return 0
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parens.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return n
		}
	}
	return 0
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func killPid(pid int) { syscall.Kill(pid, syscall.SIGKILL) }

// poll calls cond until it is true, the timeout passes or ctx ends.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(delay)
	}
}

// overlayDirs returns dirs without those inside another of them.
func overlayDirs(dirs ...string) []string {
	var out []string
	slices.Sort(dirs)
	for _, d := range slices.Compact(dirs) {
		if d == "" || d == "/" {
			continue
		}
		inside := false
		for _, o := range out {
			if strings.HasPrefix(d+"/", o+"/") {
				inside = true
			}
		}
		if !inside {
			out = append(out, d)
		}
	}
	return out
}
