package handover

import (
	"fmt"
	"io"
	"os"
)

// WriteFile encodes st into a new anonymous file (a sealed memfd on Linux)
// and returns it positioned at the start, ready to be stored or inherited.
//
// The file is mode 0600, owned by chatd's user, before anything is
// written into it: it may carry the TLS private key. It has no name in any
// directory; it is reached only through a descriptor (this process's, the
// re-exec'd image's, the service manager's copy in its store) or through
// /proc/PID/fd, which the kernel opens only for the same user or root
// (ptrace access) and then checks against that mode.
func WriteFile(st *State) (*os.File, error) {
	data, err := Encode(st)
	if err != nil {
		return nil, fmt.Errorf("encode hand-over: %w", err)
	}
	f, err := anonymousFile()
	if err != nil {
		return nil, fmt.Errorf("hand-over file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("hand-over file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write hand-over: %w", err)
	}
	if err := seal(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal hand-over: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("rewind hand-over: %w", err)
	}
	return f, nil
}

// ReadFile reads and decodes a hand-over file from its start (a duplicate
// shares the offset, so it does not rely on it) and closes it.
func ReadFile(f *os.File) (*State, []Problem, error) {
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, MaxStateSize+1), MaxStateSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read hand-over: %w", err)
	}
	return Decode(data)
}
