package instance

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/syncbuf"
)

// reloadFixture is a started daemon whose config file the test rewrites.
type reloadFixture struct {
	d    *Instance
	file string
	dir  string
	logs *syncbuf.Buffer
}

func (f *reloadFixture) write(t *testing.T, extra string) {
	t.Helper()
	base := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nadmin:\n  socket: %s\n",
		filepath.Join(f.dir, "state"), filepath.Join(f.dir, "admin.sock"))
	if err := os.WriteFile(f.file, []byte(base+extra), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startForReload(t *testing.T, extra string) *reloadFixture {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd-reload-") // short: a socket path lives here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &reloadFixture{dir: dir, file: filepath.Join(dir, "chatd.yaml"), logs: &syncbuf.Buffer{}}
	f.write(t, extra)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Parse([]string{"--config", f.file}); err != nil {
		t.Fatal(err)
	}
	load := func() (*config.Config, error) { return config.Load(fs) }
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	log, err := logging.New(f.logs, "text", cfg.Log.Level)
	if err != nil {
		t.Fatal(err)
	}
	f.d = New(cfg, log)
	f.d.SetConfigSource(load)
	if err := f.d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.d.Stop() })
	return f
}

func echo(t *testing.T, c net.Conn, r *bufio.Reader, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := r.ReadString('\n')
	if err != nil || line != strings.ToUpper(msg)+"\n" {
		t.Fatalf("answer %q, %v; want %q", line, err, strings.ToUpper(msg))
	}
}

func TestReloadAppliesLiveSettingsWithoutDroppingClients(t *testing.T) {
	f := startForReload(t, "max_clients: 50\nlog:\n  level: info\n")
	c, err := net.Dial("tcp", f.d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	echo(t, c, r, "before")

	f.write(t, "max_clients: 7\nidle_timeout: 1h\ngreeting: \"hi {id}\"\nnotices:\n  kick: \"bye\"\nlog:\n  level: debug\n")
	res, err := f.d.Reload()
	if err != nil {
		t.Fatalf("Reload: %v", err)
	}
	want := []string{"max_clients", "idle_timeout", "greeting", "notices.kick", "log.level"}
	if !sameSet(res.Applied, want) || len(res.NeedRestart) != 0 {
		t.Fatalf("result %+v, want applied %v", res, want)
	}
	st := f.d.Server().Settings()
	if st.MaxClients != 7 || st.IdleTimeout != time.Hour || st.Greeting != "hi {id}" || st.KickNotice != "bye" {
		t.Fatalf("settings after reload: %+v", st)
	}
	if f.d.Config().MaxClients != 7 {
		t.Fatalf("Config().MaxClients = %d", f.d.Config().MaxClients)
	}
	if !f.d.log.Enabled(t.Context(), -4) { // slog.LevelDebug
		t.Fatal("log level not lowered to debug")
	}
	echo(t, c, r, "after") // the connected client noticed nothing
	if !strings.Contains(f.logs.String(), "configuration reloaded") {
		t.Fatalf("no reload line in the log:\n%s", f.logs)
	}
}

func TestReloadReportsWhatNeedsARestartAndKeepsItsRunningValue(t *testing.T) {
	f := startForReload(t, "")
	addr := f.d.Addr().String()
	sock := f.d.Config().Admin.Socket
	os.WriteFile(f.file, []byte(fmt.Sprintf(
		"listen: 127.0.0.1:1\nstate_dir: %s\nadmin:\n  socket: %s\nlog:\n  format: json\nmax_clients: 9\n",
		filepath.Join(f.dir, "other"), filepath.Join(f.dir, "other.sock"))), 0o600)
	res, err := f.d.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(res.NeedRestart, []string{"listen", "state_dir", "admin.socket", "log.format"}) ||
		!sameSet(res.Applied, []string{"max_clients"}) {
		t.Fatalf("result %+v", res)
	}
	cfg := f.d.Config()
	if !slices.Equal(cfg.Listen, []string{"127.0.0.1:0"}) || cfg.Admin.Socket != sock || cfg.Log.Format != "text" || cfg.MaxClients != 9 {
		t.Fatalf("config after reload: %+v", cfg)
	}
	if f.d.Addr().String() != addr {
		t.Fatal("listener changed")
	}
	if !strings.Contains(f.logs.String(), "only after a restart") {
		t.Fatalf("restart-needed not logged:\n%s", f.logs)
	}
}

func TestReloadRejectsAnInvalidConfigAndKeepsTheOldOne(t *testing.T) {
	f := startForReload(t, "max_clients: 50\n")
	for name, extra := range map[string]string{
		"bad value":   "max_clients: -3\n",
		"unknown key": "max_clientz: 3\n",
		"not yaml":    "max_clients: [\n",
	} {
		t.Run(name, func(t *testing.T) {
			f.write(t, extra)
			_, err := f.d.Reload()
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Reload error = %v, want a *config.Error", err)
			}
			// The caller says it was a reload; the error says only why.
			if !strings.HasPrefix(err.Error(), "config") || strings.Contains(err.Error(), "reload:") ||
				strings.Contains(err.Error(), "While parsing config") {
				t.Fatalf("Reload error %q adds context its callers already give", err)
			}
			if got := f.d.Server().Settings().MaxClients; got != 50 {
				t.Fatalf("max_clients now %d, want the old 50", got)
			}
			if !strings.Contains(f.logs.String(), "configuration reload rejected") {
				t.Fatalf("rejection not logged:\n%s", f.logs)
			}
		})
	}
	// A missing file is rejected too (it was given with --config).
	os.Remove(f.file)
	if _, err := f.d.Reload(); err == nil {
		t.Fatal("reload of a missing --config file succeeded")
	}
}

// Reload before Start (nothing listens yet) applies the settings too.
func TestReloadBeforeStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "chatd.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf("state_dir: %s\nmax_clients: 5\n", dir)), 0o600)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.AddFlags(fs)
	fs.Parse([]string{"--config", file})
	cfg, err := config.Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := logging.New(&syncbuf.Buffer{}, "text", "info")
	d := New(cfg, log)
	d.SetConfigSource(func() (*config.Config, error) { return config.Load(fs) })
	os.WriteFile(file, []byte(fmt.Sprintf("state_dir: %s\nmax_clients: 6\n", dir)), 0o600)
	if _, err := d.Reload(); err != nil || d.Server().Settings().MaxClients != 6 {
		t.Fatalf("Reload: %v, max_clients %d", err, d.Server().Settings().MaxClients)
	}
}

func TestReloadWithoutSource(t *testing.T) {
	log, _ := logging.New(&syncbuf.Buffer{}, "text", "info")
	cfg := config.Defaults()
	cfg.StateDir = t.TempDir()
	d := New(&cfg, log)
	if _, err := d.Reload(); !errors.Is(err, ErrNoConfigSource) {
		t.Fatalf("err = %v", err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
