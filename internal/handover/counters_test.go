package handover

import (
	"bytes"
	"reflect"
	"testing"
)

// The restart counters travel in a record of their own: they round trip,
// a state without them reads as before (nil, not zero), a damaged or
// partial record costs only itself, and the record changes nothing else
// that is read.
func TestCountersRoundTripInARecordOfTheirOwn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		counters *Counters
		tls      bool
	}{
		{"none", nil, false},
		{"zero", &Counters{}, false},
		{"every figure", &Counters{Restarts: 3, TakenBack: 1 << 40, Lost: 7}, false},
		{"beside TLS material", &Counters{Restarts: 1, TakenBack: 2, Lost: 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sampleState()
			if tc.tls {
				st = stateWithTLS()
			}
			st.Counters = tc.counters
			data, err := Encode(st)
			if err != nil {
				t.Fatal(err)
			}
			got, problems, err := Decode(data)
			if err != nil || len(problems) != 0 {
				t.Fatalf("Decode: %v %v", err, problems)
			}
			if !reflect.DeepEqual(got.Counters, tc.counters) {
				t.Fatalf("counters %+v, want %+v", got.Counters, tc.counters)
			}
			got.Counters, got.TLS = nil, nil
			equalState(t, got, sampleState())
		})
	}

	st := sampleState()
	st.Counters = &Counters{Restarts: 2, TakenBack: 5, Lost: 1}
	data, err := Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, data) // header, counters, conns
	if kind := data[offs[1]+4]; kind != kindCounters {
		t.Fatalf("second record is of kind %d, want the counters (%d)", kind, kindCounters)
	}

	damaged := bytes.Clone(data)
	damaged[offs[1]+recordHeaderSize+3] ^= 0x01
	got, problems, err := Decode(damaged)
	if err != nil || got.Counters != nil || len(problems) != 1 || len(got.Conns) != 3 {
		t.Fatalf("damaged counters record: counters %v, %d conns, problems %v, err %v", got.Counters, len(got.Conns), problems, err)
	}

	// A record with a figure missing is refused whole: a figure read as
	// zero would make the counter go backwards.
	var partial fields
	partial.u64(tagRestarts, 4)
	withPartial, err := appendRecord(bytes.Clone(data[:offs[1]]), kindCounters, partial)
	if err != nil {
		t.Fatal(err)
	}
	withPartial = append(withPartial, data[offs[2]:]...)
	if got, problems, _ := Decode(withPartial); got.Counters != nil || len(problems) != 1 {
		t.Fatalf("counters record without every figure: counters %+v, problems %v", got.Counters, problems)
	}

	twice := append(bytes.Clone(data), data[offs[1]:offs[2]]...)
	if got, problems, _ := Decode(twice); !reflect.DeepEqual(got.Counters, st.Counters) || len(problems) != 1 {
		t.Fatalf("counters record twice: counters %+v, problems %v; want the first and one problem", got.Counters, problems)
	}

	old := append(bytes.Clone(data[:offs[1]]), data[offs[2]:]...)
	oldGot, oldProblems, _ := Decode(old)
	newGot, newProblems, _ := Decode(data)
	newGot.Counters = nil
	if len(oldProblems) != 0 || len(newProblems) != 0 || !reflect.DeepEqual(oldGot, newGot) {
		t.Fatalf("the counters record changes what the rest reads as: %v / %v", oldProblems, newProblems)
	}
}
