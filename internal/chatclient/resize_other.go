//go:build !unix

package chatclient

import "os"

func notifyResize() (<-chan os.Signal, func()) { return nil, func() {} }
