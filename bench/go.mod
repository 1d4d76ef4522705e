module github.com/chatd/chatd/bench

go 1.26.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/chatd/chatd v0.0.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require golang.org/x/text v0.44.0 // indirect

// The benchmark measures the chatd of this checkout, and starts it the
// way the end-to-end tests do (internal/serverproc).
replace github.com/chatd/chatd => ../
