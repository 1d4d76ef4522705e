//go:build race

package testbin

// raceEnabled builds the binaries with the race detector when the tests run
// with it, so end-to-end runs check the daemon for races too.
const raceEnabled = true
