package idstate

import (
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The state file is three short lines of text:
//
//	chatd client-id high-water mark v1
//	next: 2049
//	check: 5f1c0a3e
//
// next is the first ID that no run has reserved; check is the CRC-32 (IEEE)
// of the "next: …" line, so a damaged file is told from a smaller number.
const header = "chatd client-id high-water mark v1"

// maxFileSize bounds what is read: a real file is well under 100 bytes.
const maxFileSize = 4096

// CorruptError is a state file that exists but does not hold a mark.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("client-ID state file %s is corrupt: %s", e.Path, e.Reason)
}

func encode(mark uint64) []byte {
	line := "next: " + strconv.FormatUint(mark, 10)
	return fmt.Appendf(nil, "%s\n%s\ncheck: %08x\n", header, line, crc32.ChecksumIEEE([]byte(line)))
}

func decode(path string, b []byte) (uint64, error) {
	bad := func(reason string) error { return &CorruptError{Path: path, Reason: reason} }
	if len(b) == 0 {
		return 0, bad("empty")
	}
	if len(b) > maxFileSize {
		return 0, bad("larger than any state file chatd writes")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 || lines[0] != header {
		return 0, bad("not a chatd client-ID state file")
	}
	num, ok := strings.CutPrefix(lines[1], "next: ")
	if !ok {
		return 0, bad(`second line is not "next: N"`)
	}
	mark, err := strconv.ParseUint(num, 10, 64)
	if err != nil || mark == 0 {
		return 0, bad(fmt.Sprintf("next %q is not a positive number", num))
	}
	want := fmt.Sprintf("check: %08x", crc32.ChecksumIEEE([]byte(lines[1])))
	if lines[2] != want {
		return 0, bad("checksum does not match")
	}
	return mark, nil
}

// readMark reads the mark. A missing file is fs.ErrNotExist (wrapped); a
// damaged one is a *CorruptError.
func readMark(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return decode(path, b)
}

// writeMark replaces the file atomically and durably: a temp file in the
// same directory, fsync, rename over the old one, fsync the directory. A
// crash at any point leaves either the old mark or the new one.
func writeMark(path string, mark uint64) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(encode(mark)); err != nil {
		return err // an *fs.PathError: it names the operation and the file
	}
	if err := tmp.Chmod(0o640); err != nil {
		return err // an *fs.PathError: it names the operation and the file
	}
	if err := tmp.Sync(); err != nil {
		return err // an *fs.PathError: it names the operation and the file
	}
	if err := tmp.Close(); err != nil {
		return err // an *fs.PathError: it names the operation and the file
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	done = true
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
