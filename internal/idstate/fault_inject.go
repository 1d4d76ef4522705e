//go:build faultinject

package idstate

import (
	"os"
	"sync/atomic"
	"time"
)

// SlowSaveEnv makes a faultinject build's saves of the client-ID mark
// take that long (a Go duration), every save but the first: chatd starts
// at once, and then has a disk that fsyncs as slowly as a stuck one.
const SlowSaveEnv = "CHATD_FAULT_SLOW_ID_SAVE"

func init() {
	delay, err := time.ParseDuration(os.Getenv(SlowSaveEnv))
	if err != nil || delay <= 0 {
		return
	}
	var saves atomic.Int64
	saveMark = func(path string, mark uint64) error {
		if saves.Add(1) > 1 {
			time.Sleep(delay)
		}
		return writeMark(path, mark)
	}
}
