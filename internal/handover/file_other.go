//go:build !linux

package handover

import "os"

// anonymousFile is an unlinked temporary file where there is no memfd: it
// lives exactly as long as a descriptor to it is open.
func anonymousFile() (*os.File, error) {
	f, err := os.CreateTemp("", "chatd-handover-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func seal(*os.File) error { return nil }
