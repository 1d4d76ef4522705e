package service

import (
	"os/user"
	"strings"
	"testing"
)

func TestResolveAccount(t *testing.T) {
	const missing = "chatd-test-nobody"
	if _, err := user.Lookup(missing); err == nil {
		t.Skipf("user %s exists here", missing)
	}
	root, err := user.LookupId("0")
	if err != nil {
		t.Skip("no user with uid 0 in the user database")
	}
	rootGroup, err := user.LookupGroupId("0")
	if err != nil {
		t.Skip("no group with gid 0 in the group database")
	}
	sameNamedGroup := ""
	if _, err := user.LookupGroup(root.Username); err == nil {
		sameNamedGroup = root.Username
	}
	for _, tc := range []struct {
		name        string
		user, group string
		wantGroup   string
		wantErr     string
	}{
		{name: "root service", wantGroup: ""},
		{name: "group named like the user", user: root.Username, wantGroup: sameNamedGroup},
		{name: "group given", user: root.Username, group: rootGroup.Name, wantGroup: rootGroup.Name},
		{name: "missing user", user: missing, wantErr: `user "` + missing + `" does not exist`},
		{name: "missing group", user: root.Username, group: missing, wantErr: `group "` + missing + `" does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{User: tc.user, Group: tc.group}
			err := o.ResolveAccount()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || o.Group != tc.wantGroup {
				t.Fatalf("group %q, error %v; want group %q", o.Group, err, tc.wantGroup)
			}
		})
	}
}
