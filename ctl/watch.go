package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

// watchInterval is how often list --watch redraws, as watch(1) does.
const watchInterval = 2 * time.Second

// Terminal control for the watch screen: the alternate screen (the
// operator's scrollback is left as it was, as by top and less), the
// cursor hidden while redrawing, and clear-from-home for each frame.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l"
	leaveScreen = "\x1b[?25h\x1b[?1049l"
	clearScreen = "\x1b[H\x1b[2J"
)

// watchTerminal returns stdout as a terminal, or a usage error: redrawing
// in place makes sense only on a screen.
func watchTerminal(w io.Writer) (*os.File, error) {
	// The screen is drawn with control sequences of its own; what it
	// shows of chatd's is made printable cell by cell.
	f, ok := cliutil.RawWriter(w).(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, cliutil.Usagef("list --watch redraws a terminal, and stdout is not one (use list, or watch chatctl list)")
	}
	return f, nil
}

// watchClients redraws the listing every watchInterval until interrupted
// (Ctrl-C, SIGTERM), which is a normal end: exit 0, the screen restored.
// A listing that fails (chatd restarting) shows its error in the frame
// and the watch goes on.
func watchClients(ctx context.Context, tty *os.File, c *adminclient.Client, q adminapi.ClientQuery, wide bool, selects bool, title string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	io.WriteString(tty, enterScreen)
	defer io.WriteString(tty, leaveScreen)

	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		width, height, err := term.GetSize(int(tty.Fd()))
		if err != nil || width <= 0 || height <= 0 {
			width, height = 80, 24
		}
		frame := watchFrame(ctx, c, q, wide, selects, title, width, height, time.Now())
		if _, err := tty.WriteString(clearScreen + frame); err != nil {
			return fmt.Errorf("write to the terminal: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// watchFrame is one screenful: a title line, the table cut to the
// terminal (only the rows that fit are asked of chatd, unless --limit
// asks for fewer) and the count line. Lines end in \r\n: the terminal
// may be in raw mode after a program that did not restore it.
func watchFrame(ctx context.Context, c *adminclient.Client, q adminapi.ClientQuery, wide, selects bool, title string, width, height int, now time.Time) string {
	var b bytes.Buffer
	b.WriteString(fitLine(fmt.Sprintf("Every %s: %s   %s", watchInterval, title, now.Format("15:04:05")), width))
	b.WriteString("\r\n\r\n")
	// Title, blank, header, count line.
	fit := max(height-4, 1)
	if q.Limit == 0 || q.Limit > fit {
		q.Limit = fit
	}
	list, err := c.ListClients(ctx, q)
	if err != nil {
		if ctx.Err() != nil {
			return b.String()
		}
		b.WriteString(fitLine("chatctl: "+err.Error(), width) + "\r\n")
		return b.String()
	}
	header, rows := clientRows(list.Clients, wide, now)
	var table bytes.Buffer
	if err := writeTable(&table, header, rows); err != nil {
		b.WriteString(fitLine("chatctl: "+err.Error(), width) + "\r\n")
		return b.String()
	}
	for line := range strings.Lines(table.String()) {
		b.WriteString(fitLine(strings.TrimSuffix(line, "\n"), width) + "\r\n")
	}
	shown := len(list.Clients)
	b.WriteString(fitLine(countLine(shown, list.Total, selects || shown < list.Total), width))
	return b.String()
}

// fitLine cuts a line to the terminal's width, so that no line wraps and
// pushes the frame off the screen.
func fitLine(s string, width int) string {
	if len(s) <= width {
		return s
	}
	r := []rune(s)
	if len(r) > width {
		r = r[:width]
	}
	return string(r)
}
