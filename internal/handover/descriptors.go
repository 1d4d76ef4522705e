package handover

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Descriptor says which inherited descriptor number is what, for a re-exec
// in place: the table travels inside the hand-over, not in the
// environment, because Linux refuses one environment string over 128 KiB
// and thousands of connections' numbers and names exceed that.
type Descriptor struct {
	FD   int
	Name string
}

// The table is kept in records of its own kind, so a reader that predates
// it skips them (the format version stays), and in chunks, so a table for
// tens of thousands of connections stays under the record size limit.
const (
	kindDescriptors   byte = 3
	tagDescriptor     byte = 1
	descriptorsPerRec      = 4096
	maxDescriptorName      = 255 // what fdstore.ValidName allows
)

// appendDescriptors adds the table's records to an encoded hand-over.
func appendDescriptors(out []byte, table []Descriptor) ([]byte, error) {
	for start := 0; start < len(table); start += descriptorsPerRec {
		var f fields
		for _, d := range table[start:min(start+descriptorsPerRec, len(table))] {
			if d.FD < 0 || len(d.Name) == 0 || len(d.Name) > maxDescriptorName {
				return out, fmt.Errorf("descriptor %d named %q cannot be handed over", d.FD, d.Name)
			}
			v := binary.AppendUvarint(nil, uint64(d.FD))
			f.bytes(tagDescriptor, append(v, d.Name...))
		}
		var err error
		if out, err = appendRecord(out, kindDescriptors, f); err != nil {
			return out, fmt.Errorf("descriptor table: %w", err)
		}
	}
	return out, nil
}

// decodeDescriptors reads one record of the table.
func decodeDescriptors(payload []byte) ([]Descriptor, error) {
	var table []Descriptor
	err := eachField(payload, func(tag byte, v []byte) error {
		if tag != tagDescriptor {
			return nil // a later field: skipped
		}
		fd, w := binary.Uvarint(v)
		if w <= 0 || fd > 1<<31-1 {
			return errors.New("descriptor: bad number")
		}
		name := v[w:]
		if len(name) == 0 || len(name) > maxDescriptorName {
			return fmt.Errorf("descriptor %d: name of %d bytes", fd, len(name))
		}
		table = append(table, Descriptor{FD: int(fd), Name: string(name)})
		return nil
	})
	return table, err
}
