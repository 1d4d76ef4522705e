package handover

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// fakeManager answers the two org.freedesktop.systemd1.Manager calls that
// PlannedRestart makes, as PID 1 would.
type fakeManager struct {
	jobs []fakeJob
	unit dbus.ObjectPath // what GetUnitByPID answers
}

// fakeJob has the field order of ListJobs' a(usssoo).
type fakeJob struct {
	ID       uint32
	Unit     string
	JobType  string
	State    string
	JobPath  dbus.ObjectPath
	UnitPath dbus.ObjectPath
}

func (m *fakeManager) ListJobs() ([]fakeJob, *dbus.Error) { return m.jobs, nil }

func (m *fakeManager) GetUnitByPID(pid uint32) (dbus.ObjectPath, *dbus.Error) {
	if pid != uint32(os.Getpid()) {
		return "", dbus.MakeFailedError(os.ErrNotExist)
	}
	return m.unit, nil
}

// privateBus starts a dbus-daemon of the test's own (never the machine's
// system bus) and returns its address.
func privateBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its stderr is left out: it warns that it cannot raise its open-file
	// limit, which does not matter here.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestPlannedRestartReadsTheUnitsJob(t *testing.T) {
	addr := privateBus(t)
	pid1, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pid1.Close()
	if reply, err := pid1.RequestName("org.freedesktop.systemd1", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.systemd1: %v %v", reply, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		unit string // asked about; "" = own unit
		jobs []fakeJob
		want bool
	}{
		{"restart", "chatd.service", []fakeJob{{1, "chatd.service", "restart", "running", "/org/freedesktop/systemd1/job/1", "/u"}}, true},
		{"try-restart", "chatd.service", []fakeJob{{1, "chatd.service", "try-restart", "running", "/org/freedesktop/systemd1/job/1", "/u"}}, true},
		{"stop", "chatd.service", []fakeJob{{2, "chatd.service", "stop", "running", "/org/freedesktop/systemd1/job/2", "/u"}}, false},
		{"no job", "chatd.service", nil, false},
		{"another unit restarts", "chatd.service", []fakeJob{
			{3, "other.service", "restart", "running", "/org/freedesktop/systemd1/job/3", "/u"},
			{4, "chatd.service", "stop", "running", "/org/freedesktop/systemd1/job/4", "/u"},
		}, false},
		{"own unit by PID", "", []fakeJob{{5, "chatd.service", "restart", "running", "/org/freedesktop/systemd1/job/5", "/u"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeManager{jobs: tc.jobs, unit: "/org/freedesktop/systemd1/unit/chatd_2eservice"}
			if err := pid1.Export(m, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"); err != nil {
				t.Fatal(err)
			}
			conn, err := sdbus.NewConnection(func() (*dbus.Conn, error) { return dbus.Connect(addr) })
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			got, err := plannedRestart(ctx, conn, tc.unit)
			if err != nil || got != tc.want {
				t.Fatalf("plannedRestart = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPlannedRestartWithoutSystemd(t *testing.T) {
	// No bus at these addresses: an error, never a guess.
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "none"))
	if _, err := os.Stat("/run/systemd/private"); err == nil {
		t.Skip("this machine runs systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := PlannedRestart(ctx, "chatd.service"); err == nil {
		t.Fatal("PlannedRestart without systemd gave no error")
	}
}
