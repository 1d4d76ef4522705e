package protocol

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// pythonUpper runs python3 to compute, for each input, what the reference
// does: decode with surrogateescape (so invalid bytes survive), str.upper(),
// encode back. It skips the test if python3 3.11 is not available: the
// committed tests never need Python.
func pythonUpper(t *testing.T, inputs [][]byte) [][]byte {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Python cross-check in short mode")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	ver, err := exec.Command(py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Skipf("python3: %v", err)
	}
	if v := strings.TrimSpace(string(ver)); v != "3.11" {
		t.Skipf("python3 is %s; the reference is Python 3.11", v)
	}
	const script = `
import sys
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    u = b.decode("utf-8", "surrogateescape").upper().encode("utf-8", "surrogateescape")
    sys.stdout.write(u.hex() + "\n")
`
	var in bytes.Buffer
	for _, b := range inputs {
		in.WriteString(hex.EncodeToString(b))
		in.WriteByte('\n')
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("python3 returned %d lines for %d inputs", len(lines), len(inputs))
	}
	res := make([][]byte, len(lines))
	for i, l := range lines {
		if res[i], err = hex.DecodeString(l); err != nil {
			t.Fatalf("python3 line %d: %v", i, err)
		}
	}
	return res
}

// TestPythonEveryCodePoint checks the oracle against Python's str.upper()
// for every Unicode scalar value (a sample under the race detector, see
// raceEnabled).
func TestPythonEveryCodePoint(t *testing.T) {
	step := rune(1)
	if raceEnabled {
		step = 13 // see raceEnabled
	}
	var inputs [][]byte
	for r := rune(0); r <= utf8.MaxRune; r += step {
		if utf8.ValidRune(r) {
			inputs = append(inputs, utf8.AppendRune(nil, r))
		}
	}
	want := pythonUpper(t, inputs)
	bad := 0
	caser := cases.Upper(language.Und)
	var up [64]byte
	for i, in := range inputs {
		n, _, err := caser.Transform(up[:], in, true)
		if got := up[:n]; err != nil || !bytes.Equal(got, want[i]) {
			if bad++; bad <= 20 {
				r, _ := utf8.DecodeRune(in)
				t.Errorf("%U: x/text %+q, Python %+q", r, got, want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d code points differ", bad)
	}
}

// TestPythonStream checks the uppercaser, in random chunks, against Python
// for the table inputs and random inputs, invalid UTF-8 included.
func TestPythonStream(t *testing.T) {
	var inputs [][]byte
	for _, tc := range upperCases {
		inputs = append(inputs, []byte(tc.in))
	}
	rng := rand.New(rand.NewPCG(11, 13))
	n := 2000
	if raceEnabled {
		n = 500
	}
	for range n {
		in := randomInput(rng, 80)
		inputs = append(inputs, in)
	}
	want := pythonUpper(t, inputs)
	for i, in := range inputs {
		if got := upperChecked(t, randomChunks(rng, in)); !bytes.Equal(got, want[i]) {
			t.Errorf("input %q: Stream %q, Python %q", in, got, want[i])
		}
	}
}
