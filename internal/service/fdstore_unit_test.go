package service

import (
	"strings"
	"testing"
)

// The unit lets chatd keep its clients in systemd's descriptor store,
// sized from max_clients, unless survival is turned off.
func TestUnitSizesTheDescriptorStore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxClients int
		off        bool
		store      string // the FileDescriptorStoreMax= line, "" for none
		nofile     string
	}{
		{"default max_clients", 0, false, "FileDescriptorStoreMax=11024", "LimitNOFILE=65536"},
		{"small", 100, false, "FileDescriptorStoreMax=1124", "LimitNOFILE=65536"},
		{"every socket twice", 50000, false, "FileDescriptorStoreMax=51024", "LimitNOFILE=101024"},
		{"survival off", 50000, true, "", "LimitNOFILE=65536"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit, err := SystemdUnitFile(Options{Executable: "/usr/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml",
				User: "chatd", MaxClients: tc.maxClients, NoSurvival: tc.off})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(unit, "\n")
			has := func(prefix string) string {
				for _, l := range lines {
					if strings.HasPrefix(l, prefix) {
						return l
					}
				}
				return ""
			}
			if got := has("FileDescriptorStoreMax="); got != tc.store {
				t.Errorf("store line %q, want %q", got, tc.store)
			}
			if got := has("LimitNOFILE="); got != tc.nofile {
				t.Errorf("limit line %q, want %q", got, tc.nofile)
			}
		})
	}
}
