// Package e2e holds end-to-end tests of the core wire contract, run against
// the real chatd and chat binaries (built by internal/testbin).
package e2e
