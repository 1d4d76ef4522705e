//go:build race

package protocol

// raceEnabled: the race detector slows x/text some sixty times, so the
// exhaustive checks of the oracle (which test x/text and Python, not
// concurrency) take a sample under it; .ci/run runs them in full without.
const raceEnabled = true
