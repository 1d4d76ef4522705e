package logging

import (
	"fmt"
	"os"
	"syscall"
)

// ToJournal reports whether f is the stream systemd connected to the
// journal: systemd sets JOURNAL_STREAM to that stream's "device:inode",
// and journald stamps every line it receives, so a second time from slog
// is only noise. A child that inherited the variable but writes elsewhere
// (a pipe, a file) keeps its own time.
func ToJournal(f *os.File) bool {
	want := os.Getenv("JOURNAL_STREAM")
	if want == "" {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return want == fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino))
}
