//go:build !linux && !darwin && !freebsd

package peercred

func fromFD(int) (*Cred, error) { return nil, ErrUnsupported }

func supplementaryGroups(*Cred) ([]uint32, error) { return nil, ErrUnsupported }
