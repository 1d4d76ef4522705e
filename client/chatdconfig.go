package main

import (
	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/config"
)

// addrFromChatdConfig is the address of the chatd on this machine, from
// its config (`listen`, or $CHATD_LISTEN), for a chat given no address:
// it follows a changed `listen` as chatctl follows admin.socket. file is
// --config ("" for the files chatd reads). ok is false when the config
// names no fixed address, and chat's default applies. A default file chat
// cannot read (not ours to read, say) must not stop it; a --config it
// cannot read is a usage mistake.
func addrFromChatdConfig(file string) (addr, source string, ok bool, err error) {
	addr, source, err = config.ChatAddress(file)
	if err != nil {
		if file != "" {
			return "", "", false, cliutil.Usage(err)
		}
		return "", "", false, nil
	}
	return addr, "chatd's config (" + source + ")", addr != "", nil
}
