package fdstore_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
)

// inflightProbe prints what fdstore.InflightLimited says and what the
// kernel does: with RLIMIT_NOFILE at 64 it tries to keep 100 descriptors
// in flight in a socketpair (150 if nothing stops it).
func inflightProbe() error {
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 64, Max: 64}); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	batch := make([]int, 50) // the same descriptor 50 times: 50 in flight
	for i := range batch {
		batch[i] = fds[1]
	}
	kernel := "unlimited"
	// The kernel checks the count before adding a message's descriptors:
	// 0, 50, then 100 > 64 is refused.
	for range 3 {
		if err := unix.Sendmsg(fds[0], []byte{0}, unix.UnixRights(batch...), nil, 0); err != nil {
			if !errors.Is(err, unix.ETOOMANYREFS) {
				return fmt.Errorf("sendmsg: %w", err)
			}
			kernel = "limited"
		}
	}
	fmt.Printf("InflightLimited=%v kernel=%s\n", fdstore.InflightLimited(), kernel)
	return nil
}

// TestInflightLimitedAgreesWithTheKernel: whether the kernel limits the
// descriptors in flight follows the process's capabilities, not its user
// ID, and InflightLimited says the same as the kernel does for root with
// every capability, root with none (chatd's unit), root with only
// CAP_SYS_RESOURCE, and an unprivileged user.
func TestInflightLimitedAgreesWithTheKernel(t *testing.T) {
	if os.Geteuid() != 0 || fdstore.InflightLimited() {
		t.Skip("needs root with CAP_SYS_ADMIN to run the probe under different capabilities (CI runs as root)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed (.ci/run installs util-linux)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setpriv []string // empty: run as the test runs
		keep    int      // the one capability kept, for a bounding set of one
		want    string
	}{
		{name: "root as the test runs", want: "InflightLimited=false kernel=unlimited"},
		{name: "root without capabilities", setpriv: []string{"--bounding-set=-all", "--inh-caps=-all"},
			want: "InflightLimited=true kernel=limited"},
		{name: "root with CAP_SYS_ADMIN only", keep: unix.CAP_SYS_ADMIN, want: "InflightLimited=false kernel=unlimited"},
		{name: "root with CAP_SYS_RESOURCE only", keep: unix.CAP_SYS_RESOURCE, want: "InflightLimited=false kernel=unlimited"},
		{name: "unprivileged user", setpriv: []string{"--reuid=65534", "--regid=65534", "--clear-groups"},
			want: "InflightLimited=true kernel=limited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.keep != 0 {
				tc.setpriv = keepOnly(t, tc.keep)
			}
			var cmd *exec.Cmd
			if tc.setpriv == nil {
				cmd = exec.Command(exe)
			} else {
				cmd = exec.Command("setpriv", append(tc.setpriv, "--", exe)...)
			}
			cmd.Env = append(os.Environ(), "HOLDER_ROLE=inflight")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// keepOnly returns setpriv's arguments for a bounding set of capability c
// alone, skipping the test if this process does not have c to keep (some
// container hosts withhold CAP_SYS_RESOURCE from root).
func keepOnly(t *testing.T, c int) []string {
	t.Helper()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	if data[c/32].Effective&(1<<uint(c%32)) == 0 {
		t.Skipf("this process lacks capability %d, so it cannot keep it alone", c)
	}
	out, err := exec.Command("setpriv", "--list-caps").Output()
	if err != nil {
		t.Fatalf("setpriv --list-caps: %v", err)
	}
	keep := map[int]string{unix.CAP_SYS_ADMIN: "sys_admin", unix.CAP_SYS_RESOURCE: "sys_resource"}[c]
	var drop []string
	for _, name := range strings.Fields(string(out)) {
		if name != keep {
			drop = append(drop, "-"+name)
		}
	}
	return []string{"--bounding-set=" + strings.Join(drop, ","), "--inh-caps=-all"}
}
