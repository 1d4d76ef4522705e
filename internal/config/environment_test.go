package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The misspelled names below are written EnvPrefix + "_…" so that the
// repository scan in TestEveryChatdVariableIsKnown does not take them for
// variables chatd reads.

// A CHATD_* variable that names no key is reported, with the nearest
// key's variable when one is close; keys' variables and the ones chatd
// reads for other purposes are not.
func TestUnknownEnv(t *testing.T) {
	p := EnvPrefix + "_"
	tests := []struct {
		env  string
		want string // "" = not reported
	}{
		{p + "MAX_CLIENT=5", "config environment " + p + "MAX_CLIENT: unknown variable; did you mean CHATD_MAX_CLIENTS (max_clients)?"},
		{p + "ADMIN_SOCKETT=/x", "did you mean CHATD_ADMIN_SOCKET (admin.socket)?"},
		{p + "SOCKET=/x", "did you mean CHATD_ADMIN_SOCKET (admin.socket)?"},
		{p + "TLS_CERTFILE=/x", "did you mean CHATD_TLS_CERT_FILE (tls.cert_file)?"},
		{p + "max_clients=5", "did you mean CHATD_MAX_CLIENTS (max_clients)?"}, // viper reads upper case only
		{p + "SOMETHING_ELSE_ENTIRELY=1", "unknown variable (no configuration key is called that"},
		{p + "MAX_CLIENT=", "did you mean CHATD_MAX_CLIENTS"}, // set, if empty: still a misspelling
		{"CHATD_MAX_CLIENTS=5", ""},
		{"CHATD_PROXY_PROTOCOL_HEADER_TIMEOUT=1s", ""},
		{"CHATD_INHERIT_FDS=3", ""},
		{"CHATD_INHERIT_" + "STATE=x", ""}, // the hand-over's own family
		{"CHATD_TEST_PACKAGES=1", ""},
		{"CHATDX_MAX_CLIENTS=1", ""}, // not chatd's prefix
		{"PATH=/bin", ""},
	}
	for _, tt := range tests {
		got := UnknownEnv([]string{tt.env})
		switch {
		case tt.want == "" && len(got) != 0:
			t.Errorf("%s: reported %v", tt.env, got[0])
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0].Error(), tt.want)):
			t.Errorf("%s: got %v, want %q", tt.env, got, tt.want)
		}
	}
}

// Every CHATD_* name the repository uses (code, tests, scripts) is a key's
// variable or one of notKeys: a new test switch or internal variable that
// is not listed would make `chatd config check` fail wherever it is set.
func TestEveryChatdVariableIsKnown(t *testing.T) {
	root := filepath.Join("..", "..")
	name := regexp.MustCompile(`CHATD_[A-Z0-9]+(?:_[A-Z0-9]+)*`)
	seen := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".sh") && d.Name() != "run" && d.Name() != "Makefile" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, at := range name.FindAllIndex(b, -1) {
			if at[1] < len(b) && b[at[1]] == '_' {
				continue // a prefix, as in "CHATD_INHERIT_" + name
			}
			seen[string(b[at[0]:at[1]])] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 10 {
		t.Fatalf("found only %v: the scan is broken", seen)
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !knownEnv(n) {
			t.Errorf("%s (in %s) is neither a key's variable nor listed in notKeys", n, seen[n])
		}
	}
	for n := range notKeys {
		if _, ok := seen[n]; !ok && !strings.HasPrefix(n, "CHATD_INHERIT_") {
			t.Errorf("notKeys lists %s, which nothing in the repository uses any more", n)
		}
	}
}
