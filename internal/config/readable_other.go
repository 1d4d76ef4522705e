//go:build !linux

package config

// openAs cannot take another user's identity for one thread here.
func openAs(Account, []string) ([]error, error) { return nil, ErrCannotCheckAs }
