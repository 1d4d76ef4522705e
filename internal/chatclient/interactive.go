package chatclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/chatd/chatd/internal/neterr"
)

// Terminal gives Run control of a real terminal in interactive mode. All
// fields are optional.
type Terminal struct {
	// MakeRaw puts the terminal into raw mode (the line editor needs every
	// key press) and returns the function that restores it. Run restores
	// the terminal before it returns, however the session ends.
	MakeRaw func() (restore func() error, err error)
	// Size reports the terminal's width and height.
	Size func() (width, height int, err error)
	// Resized receives a value whenever the terminal's size may have
	// changed (SIGWINCH).
	Resized <-chan os.Signal
}

// Escape sequences written around the end of an interactive session.
const (
	clearLine = "\r\x1b[K" // carriage return, erase to end of line
	newLine   = "\r\n"
)

// ctrlCWatcher passes the user's key presses through and notes a Ctrl-C,
// which term.Terminal reports as io.EOF just like Ctrl-D.
type ctrlCWatcher struct {
	r     io.Reader
	ctrlC atomic.Bool
}

func (w *ctrlCWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 && bytes.IndexByte(p[:n], 0x03) >= 0 {
		w.ctrlC.Store(true)
	}
	return n, err
}

func (s *session) runInteractive(ctx context.Context) int {
	restore := func() {}
	tty := s.opts.Terminal
	if tty == nil {
		tty = &Terminal{}
	}
	if tty.MakeRaw != nil {
		r, err := tty.MakeRaw()
		if err != nil {
			s.conn.Close()
			fmt.Fprintf(s.opts.Stderr, "chat: cannot set up the terminal: %s\n", neterr.Text(err))
			return ExitError
		}
		var once sync.Once
		restore = func() { once.Do(func() { r() }) }
	}
	defer restore() // whatever happens, even a panic

	keys := &ctrlCWatcher{r: s.opts.Stdin}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{keys, s.opts.Stdout}, s.opts.Prompt)
	if tty.Size != nil {
		if w, h, err := tty.Size(); err == nil {
			t.SetSize(w, h)
		}
	}
	done := make(chan struct{})
	defer close(done)
	if tty.Resized != nil && tty.Size != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case <-tty.Resized:
					if w, h, err := tty.Size(); err == nil {
						t.SetSize(w, h)
					}
				}
			}
		}()
	}

	scr := &screen{t: t, out: s.opts.Stdout, atEOL: true}
	scr.write([]byte(s.connectedLine()), false)
	readDone := make(chan error, 1)
	go func() {
		err := s.readServer(func(p []byte) error { return scr.write(p, false) })
		if err == nil {
			err = scr.write(nil, true)
		}
		readDone <- err
	}()

	var editing atomic.Bool // the prompt is on the screen, waiting for a line
	inputDone := make(chan inputResult, 1)
	go func() { inputDone <- s.readLines(t, scr, keys, &editing) }()

	code, msg := s.wait(ctx, readDone, inputDone)
	if editing.Load() {
		scr.leave(leaveErasePrompt)
	} else {
		scr.leave(leaveAsIs)
	}
	s.conn.Close()
	restore()
	if msg != "" {
		fmt.Fprintln(s.opts.Stderr, msg)
	}
	return code
}

// connectedLine says whom the session is with and how to end it, the way
// telnet and ssh greet a person at a terminal.
func (s *session) connectedLine() string {
	to := s.opts.Addr
	if remote := s.conn.RemoteAddr().String(); remote != to {
		to += " (" + remote + ")"
	}
	return "chat: connected to " + to + "; type " + ClosePhrase + " or press Ctrl-D to end, Ctrl-C to quit\n"
}

// screen writes the server's output in interactive mode: through the line
// editor while it is in use, so the prompt and the line being typed are
// redrawn below the output, and straight to the terminal once the editor is
// done (after Ctrl-D the server may still send its last bytes).
type screen struct {
	t   *term.Terminal
	out io.Writer

	mu     sync.Mutex
	f      termFilter
	direct bool // the line editor is done
	atEOL  bool // the last output ended a line
}

func (s *screen) write(p []byte, final bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.f.filter(p, final)
	if final && !s.atEOL && (len(b) == 0 || b[len(b)-1] != '\n') {
		// End the server's last line, so that nothing else (the
		// prompt, our closing message) ends up on it.
		b = append(b, '\n')
	}
	if len(b) == 0 {
		return nil
	}
	s.atEOL = b[len(b)-1] == '\n'
	var err error
	if s.direct {
		_, err = s.out.Write(bytes.ReplaceAll(b, []byte("\n"), []byte(newLine)))
	} else {
		_, err = s.t.Write(b)
	}
	return err
}

// How the line editor's last line is left on the screen.
type leaving int

const (
	leaveAsIs        leaving = iota // the cursor is at the start of a line
	leaveErasePrompt                // the prompt (and maybe typed text) is shown
	leaveInterrupted                // as leaveErasePrompt, after Ctrl-C
)

// leave stops writing through the line editor; the first call wins.
func (s *screen) leave(how leaving) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.direct {
		return
	}
	s.direct = true
	switch {
	case how == leaveInterrupted:
		io.WriteString(s.out, "^C"+newLine) // like a shell: keep the line
	case how == leaveErasePrompt && s.atEOL:
		io.WriteString(s.out, clearLine) // the prompt has a line to itself
	case how == leaveErasePrompt:
		io.WriteString(s.out, newLine) // the prompt follows unfinished output
	}
}

// readLines sends each line typed into t, followed by "\n", until the user
// ends input (Ctrl-D), interrupts (Ctrl-C) or sends the close phrase.
func (s *session) readLines(t *term.Terminal, scr *screen, keys *ctrlCWatcher, editing *atomic.Bool) inputResult {
	for {
		editing.Store(true)
		line, err := t.ReadLine()
		editing.Store(false)
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			if !errors.Is(err, io.EOF) {
				return inputResult{kind: inputReadError, err: err}
			}
			if keys.ctrlC.Load() {
				scr.leave(leaveInterrupted)
				return inputResult{kind: inputInterrupt}
			}
			scr.leave(leaveErasePrompt)
			if err := s.halfClose(); err != nil {
				return inputResult{kind: inputSendError, err: err}
			}
			return inputResult{kind: inputEOF}
		}
		if i := strings.Index(line, ClosePhrase); i >= 0 {
			// Send up to the end of the phrase: the server answers what
			// comes before it and closes, ignoring the rest.
			s.markClosing(true)
			scr.leave(leaveAsIs)
			if _, err := io.WriteString(s.conn, line[:i+len(ClosePhrase)]); err != nil {
				return inputResult{kind: inputSendError, err: err}
			}
			if err := s.halfClose(); err != nil {
				return inputResult{kind: inputSendError, err: err}
			}
			return inputResult{kind: inputClose}
		}
		if _, err := io.WriteString(s.conn, line+"\n"); err != nil {
			return inputResult{kind: inputSendError, err: err}
		}
		s.sent.Store(true)
	}
}

// OSTerminal returns the Terminal hooks for the terminal on fd (usually
// standard input), and a function that stops watching for size changes.
func OSTerminal(fd int) (*Terminal, func()) {
	resized, stop := notifyResize()
	return &Terminal{
		MakeRaw: func() (func() error, error) {
			old, err := term.MakeRaw(fd)
			if err != nil {
				return nil, err
			}
			return func() error { return term.Restore(fd, old) }, nil
		},
		Size:    func() (int, int, error) { return term.GetSize(fd) },
		Resized: resized,
	}, stop
}

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool { return term.IsTerminal(fd) }
