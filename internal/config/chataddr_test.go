package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestChatAddress(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, env string
		want, source    string
	}{
		{name: "no file", want: ""},
		{name: "no listen key", yaml: "max_clients: 5\n", want: ""},
		{name: "loopback", yaml: "listen: 127.0.0.1:6001\n", want: "127.0.0.1:6001", source: "file"},
		{name: "every interface", yaml: "listen: ':6002'\n", want: "127.0.0.1:6002", source: "file"},
		{name: "every IPv4 interface", yaml: "listen: 0.0.0.0:6003\n", want: "127.0.0.1:6003", source: "file"},
		{name: "every IPv6 interface", yaml: "listen: '[::]:6004'\n", want: "[::1]:6004", source: "file"},
		{name: "a list", yaml: "listen: ['[::1]:6005', '127.0.0.1:6006']\n", want: "[::1]:6005", source: "file"},
		{name: "free port", yaml: "listen: 127.0.0.1:0\n", want: ""},
		{name: "environment wins", yaml: "listen: 127.0.0.1:6001\n", env: "127.0.0.2:6007", want: "127.0.0.2:6007", source: "environment CHATD_LISTEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CHATD_LISTEN", tc.env)
			file := writeConfig(t, tc.yaml)
			addr, source, err := ChatAddress(file)
			if err != nil {
				t.Fatal(err)
			}
			if tc.source == "file" {
				tc.source = "file " + file
			}
			if addr != tc.want || source != tc.source {
				t.Fatalf("got %q from %q, want %q from %q", addr, source, tc.want, tc.source)
			}
		})
	}
}

func TestChatAddressBadFile(t *testing.T) {
	t.Setenv("CHATD_LISTEN", "")
	for _, yaml := range []string{"listen: [\n", "listen: nonsense\n"} {
		_, _, err := ChatAddress(writeConfig(t, yaml))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%q: error %v, want a *config.Error", yaml, err)
		}
	}
}

// writeConfig writes yaml to a file of its own ("" for none) and makes
// the default files absent, so that nothing on this machine counts.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	old := searchedFiles
	searchedFiles = func() []string { return []string{filepath.Join(t.TempDir(), "absent.yaml")} }
	t.Cleanup(func() { searchedFiles = old })
	if yaml == "" {
		return ""
	}
	f := filepath.Join(t.TempDir(), "chatd.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
