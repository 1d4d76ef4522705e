package main

import (
	"errors"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/config"
)

// exitNotConnected is chatctl's own exit status: kick found at least one
// of the given clients not connected. The statuses every program shares
// (1 failure, 2 usage) are cliutil's.
const exitNotConnected = 3

// exitStatus gives a bad configuration file the usage status: running
// chatctl again unchanged fails again.
func exitStatus(err error) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		return cliutil.WithCode(cliutil.ExitUsage, err)
	}
	return err
}
