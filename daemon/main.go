// Command chatd is the chat daemon: a TCP server that answers every client
// with its own message in capitals. See `chatd --help`.
package main

import (
	"errors"
	"os"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/config"
)

func main() {
	os.Exit(cliutil.Report(os.Stderr, "chatd", exitError(newRootCmd().Execute())))
}

// exitError gives a configuration error its exit status, 2: the unit
// stops restarting on it, because a restart cannot mend a bad config.
func exitError(err error) error {
	var ce *config.Error
	if errors.As(err, &ce) && cliutil.Code(err) == cliutil.ExitFailure {
		return cliutil.WithCode(cliutil.ExitUsage, err)
	}
	return err
}
