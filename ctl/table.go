package main

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/chatd/chatd/internal/cliutil"
)

// columnGap is the blank between two columns.
const columnGap = "   "

// tableChunk is how many rows one tablewriter table renders. A listing of
// a busy server is rendered as a run of such tables, on every core,
// joined in order.
const tableChunk = 1024

// writeTable prints a borderless table in the style of `docker ps` and
// `kubectl get`: headers as given, left-aligned columns three spaces apart,
// no trailing blanks. Cells come from the daemon: anything in them that is
// not printable text is shown escaped (cliutil.Printable), so that no
// string can drive the terminal or break the columns.
//
// The whole table goes to w in one write, after the rows are laid out,
// so the caller gets either all of it or an error.
//
// A server can hold 20,000 clients, and tablewriter takes about as many
// microseconds per row (BenchmarkListTable). Its streaming mode with
// fixed widths was measured slower still; what does help: the columns are
// measured here first, every chunk of rows is a table of its own whose
// header is padded to those widths (so that all chunks line up exactly),
// and the chunks render in parallel.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	disableWidthCache.Do(func() { twwidth.SetCacheCapacity(0) })
	cells := make([][]string, len(rows))
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = twwidth.Width(h)
	}
	for r, row := range rows {
		cells[r] = make([]string, len(header))
		for i := range header {
			if i < len(row) {
				// tablewriter trims cells by default; that is off here
				// (the padded header needs its blanks), so trim here.
				cells[r][i] = strings.TrimSpace(cliutil.Printable(row[i]))
			}
			widths[i] = max(widths[i], twwidth.Width(cells[r][i]))
		}
	}
	ruler := make([]string, len(header))
	for i, h := range header {
		ruler[i] = h + strings.Repeat(" ", widths[i]-twwidth.Width(h))
	}

	nChunks := max(1, (len(cells)+tableChunk-1)/tableChunk)
	out := make([][]byte, nChunks)
	errs := make([]error, nChunks)
	next := make(chan int, nChunks)
	for i := range nChunks {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(nChunks, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				part := cells[min(i*tableChunk, len(cells)):min((i+1)*tableChunk, len(cells))]
				out[i], errs[i] = renderChunk(ruler, part, i > 0)
			}
		})
	}
	wg.Wait()
	var all []byte
	for i := range nChunks {
		if errs[i] != nil {
			return errs[i]
		}
		all = append(all, out[i]...)
	}
	_, err := w.Write(all)
	return err
}

// renderChunk renders rows under the padded header, and leaves out the
// header line when the chunk continues a table.
func renderChunk(ruler []string, rows [][]string, continued bool) ([]byte, error) {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: columnGap, Overwrite: true}),
	)
	t.Header(ruler)
	if err := t.Bulk(rows); err != nil {
		return nil, err
	}
	if err := t.Render(); err != nil {
		return nil, err
	}
	text := buf.Bytes()
	if continued {
		_, text, _ = bytes.Cut(text, []byte{'\n'})
	}
	// Trim the last column's padding in place: each line only shrinks.
	trimmed := text[:0]
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte{'\n'})
		trimmed = append(trimmed, bytes.TrimRight(line, " ")...)
		trimmed = append(trimmed, '\n')
		text = rest
	}
	return trimmed, nil
}

// disableWidthCache turns off tablewriter's cache of cell widths, once.
// The cache holds 8,192 strings; a listing of a full server has well over
// 100,000 distinct cells, so every look-up missed and evicted under a
// lock, and this doubled the time the table took (measured with
// BenchmarkListTable). Measuring a short cell afresh is cheaper than that.
var disableWidthCache sync.Once
