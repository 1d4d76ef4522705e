//go:build !linux

package fdstore

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// The store and the holder exist only under systemd, which is Linux only.
// These keep the callers portable; every constructor reports
// errors.ErrUnsupported.

const (
	MaxFDsPerMessage      = 253
	MaxBatchInterval      = 50 * time.Millisecond
	DefaultBatchInterval  = 20 * time.Millisecond
	DefaultSendBuffer     = 4 << 20
	DefaultRebuildMinDead = 1024
)

var ErrNotHeld = errors.New("holder not kept by the service manager")

type Notifier struct{}

func NewNotifier() (*Notifier, error)                    { return nil, errors.ErrUnsupported }
func NewNotifierAt(string) (*Notifier, error)            { return nil, errors.ErrUnsupported }
func (*Notifier) Close() error                           { return nil }
func (*Notifier) Store(string, syscall.Conn, bool) error { return errors.ErrUnsupported }
func (*Notifier) Remove(string) error                    { return errors.ErrUnsupported }
func ValidName(name string) error                        { return nil }
func InflightLimited() bool                              { return false }
func (*Files) HoldsConns() bool                          { return false }

type HolderOptions struct {
	BatchInterval  time.Duration
	SendBuffer     int
	RebuildMinDead int
	OnError        func(error)
}

type HolderStats struct {
	Live, Dead, Pending, Shards    int
	Sent, Messages, Full, Rebuilds uint64
}

type Holder struct{}

func NewHolder(*Notifier, HolderOptions) (*Holder, error) { return nil, errors.ErrUnsupported }
func (*Holder) Names() []string                           { return nil }
func (*Holder) Stats() HolderStats                        { return HolderStats{} }
func (*Holder) Add(uint64, syscall.Conn) error            { return errors.ErrUnsupported }
func (*Holder) Forget(uint64)                             {}
func (*Holder) Flush() error                              { return nil }
func (*Holder) Close() error                              { return nil }
func (*Holder) Discard() error                            { return nil }

type Held struct {
	ID    uint64
	Conn  net.Conn
	Shard string
}

func Drain(shards []*os.File) ([]Held, []error) {
	for _, f := range shards {
		f.Close()
	}
	return nil, nil
}
