package main

import (
	"bytes"
	"io"
	"sync"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/chatd/chatd/internal/cliutil"
)

// writeTable prints a borderless table in the style of `docker ps` and
// `kubectl get`: headers as given, left-aligned columns three spaces apart,
// no trailing blanks. Cells come from the daemon: anything in them that is
// not printable text is shown escaped (cliutil.Printable), so that no
// string can drive the terminal or break the columns.
//
// The whole table goes to w in one write, after the rows are laid out,
// so the caller gets either all of it or an error.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	disableWidthCache.Do(func() { twwidth.SetCacheCapacity(0) })
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "   ", Overwrite: true}),
	)
	t.Header(header)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cliutil.Printable(c)
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	// Trim the last column's padding in place: each line only shrinks.
	text := buf.Bytes()
	out := text[:0]
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte{'\n'})
		out = append(out, bytes.TrimRight(line, " ")...)
		out = append(out, '\n')
		text = rest
	}
	_, err := w.Write(out)
	return err
}

// disableWidthCache turns off tablewriter's cache of cell widths, once.
// The cache holds 8,192 strings; a listing of a full server has well over
// 100,000 distinct cells, so every look-up missed and evicted under a
// lock, and this doubled the time the table took (measured with
// BenchmarkListTable). Measuring a short cell afresh is cheaper than that.
var disableWidthCache sync.Once
