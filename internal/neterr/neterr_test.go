package neterr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestCause(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: "/run/x", Net: "unix"},
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	plain := errors.New("plain")
	wrapped := fmt.Errorf("context: %w", dial)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"nil", nil, nil},
		{"op around syscall", dial, syscall.ECONNREFUSED},
		{"url around op", &url.Error{Op: "Get", URL: "http://chatd/v1/status", Err: dial}, syscall.ECONNREFUSED},
		{"path error", &fs.PathError{Op: "chmod", Path: "/x", Err: syscall.EPERM}, syscall.EPERM},
		{"op without cause", &net.OpError{Op: "read"}, nil},
		{"other types stay", plain, plain},
		{"fmt wrapper stays", wrapped, wrapped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Cause(tc.err)
			if tc.name == "op without cause" {
				if _, ok := got.(*net.OpError); !ok {
					t.Errorf("Cause = %#v, want the *net.OpError itself", got)
				}
				return
			}
			if got != tc.want {
				t.Errorf("Cause = %#v (%v), want %#v", got, got, tc.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, "network is unreachable"},
		{fmt.Errorf("writing output: %w", &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}), "broken pipe"},
		{errors.New("dial tcp 1.2.3.4:5: something odd"), "something odd"},
		{errors.New("no prefix: kept"), "no prefix: kept"},
	}
	for _, tc := range tests {
		if got := Text(tc.err); got != tc.want {
			t.Errorf("Text(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestIsTimeout(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{os.ErrDeadlineExceeded, true},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{&url.Error{Op: "Get", Err: context.DeadlineExceeded}, true},
		{fmt.Errorf("x: %w", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), true},
		{syscall.ECONNREFUSED, false},
		{errors.New("timeout"), false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := IsTimeout(tc.err); got != tc.want {
			t.Errorf("IsTimeout(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
