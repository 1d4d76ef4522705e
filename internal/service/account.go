package service

import (
	"fmt"
	"os/user"
)

// ResolveAccount checks that the account the service runs as exists and
// fills in its group when none was given: a group named like the user, if
// there is one (else systemd uses the user's primary group). An empty
// User (root) needs nothing.
func (o *Options) ResolveAccount() error {
	if o.User == "" {
		return nil
	}
	if _, err := user.Lookup(o.User); err != nil {
		return fmt.Errorf("user %q does not exist: create it (install.sh does) or pass --user", o.User)
	}
	if o.Group != "" {
		if _, err := user.LookupGroup(o.Group); err != nil {
			return fmt.Errorf("group %q does not exist: create it or pass another --group", o.Group)
		}
		return nil
	}
	if _, err := user.LookupGroup(o.User); err == nil {
		o.Group = o.User
	}
	return nil
}
