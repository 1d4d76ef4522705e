package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

// writeClientsJSON prints the listing as the API's JSON, indented as
// printJSON does, a client at a time as it arrives from chatd: a full
// server's listing is never held whole.
func writeClientsJSON(ctx context.Context, w io.Writer, c *adminclient.Client, q adminapi.ClientQuery) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("{\n  \"clients\": [")
	n := 0
	var one bytes.Buffer
	var printable []byte
	total, err := c.EachClientJSON(ctx, q, func(raw json.RawMessage) error {
		// Indenting chatd's own encoding gives what encoding the decoded
		// client would, at a fraction of the cost; its strings are made
		// printable as printJSON's are.
		one.Reset()
		if err := json.Indent(&one, raw, "    ", "  "); err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		n++
		printable = cliutil.AppendPrintableJSON(printable[:0], one.Bytes())
		_, err := bw.Write(printable)
		return err
	})
	if err != nil {
		return err // what was buffered is not printed: no half documents
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"total\": " + strconv.Itoa(total) + "\n}\n")
	return bw.Flush()
}
