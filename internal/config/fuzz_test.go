package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary files to the loader: it never panics, every
// refusal is one line, and whatever it accepts, `config show` renders as a
// file that loads to the same configuration.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"", "listen: 127.0.0.1:0\n", "max_clients: 1.5\n", "shutdown_grace: 10\n", "admin:\n  mode: 660\n",
		"admin:\n  mode: 0o777\n", "log: loud\n", "greeting: [a, b]\n", "notices:\n  kick: 42\n",
		"idle_timeout: 0\n", "max_clients: 0x10\n", "max_client: 3\n", "listen: [\n", "admin: {group: \"\"}\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	old := searchedFiles
	searchedFiles = func() []string { return []string{filepath.Join(dir, "absent.yaml")} }
	defer func() { searchedFiles = old }()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CHATD_") {
			os.Unsetenv(k)
		}
	}
	file := filepath.Join(dir, "chatd.yaml")
	f.Fuzz(func(t *testing.T, yaml string) {
		cfg, err := loadFile(t, file, yaml)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		shown, err := cfg.YAML()
		if err != nil {
			t.Fatal(err)
		}
		again, err := loadFile(t, file, string(shown))
		if err != nil {
			t.Fatalf("config show output does not load: %v\n%s", err, shown)
		}
		again.Origin, cfg.Origin = "", ""
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
		}
	})
}

func loadFile(t *testing.T, file, yaml string) (*Config, error) {
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := newFlagSet()
	if err := fs.Parse([]string{"--config", file}); err != nil {
		t.Fatal(err)
	}
	return Load(fs)
}
