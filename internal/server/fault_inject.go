//go:build faultinject

package server

import "bytes"

// PanicMarker makes a faultinject build panic inside the handler of the
// connection that sends it, to prove one client's panic drops that client
// alone.
const PanicMarker = "\x00CHATD-FAULT-PANIC\x00"

// FatalMarker makes a faultinject build panic outside any connection (on
// a goroutine of its own), which no recover catches: chatd dies of it, as
// of any fatal error.
const FatalMarker = "\x00CHATD-FAULT-FATAL\x00"

func init() {
	onRead = func(data []byte) {
		if bytes.Contains(data, []byte(PanicMarker)) {
			panic("faultinject: panic marker received")
		}
		if bytes.Contains(data, []byte(FatalMarker)) {
			go panic("faultinject: fatal marker received")
		}
	}
}
