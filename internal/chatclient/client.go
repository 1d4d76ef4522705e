package chatclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/neterr"
	"github.com/chatd/chatd/internal/protocol"
)

// Exit codes returned by Run: the statuses all chatd's programs share,
// in chat's words, and chat's own 3.
const (
	// ExitOK: the session ended as the user asked: they sent CLOSE SOCKET,
	// or their input ended and the server then closed the connection.
	ExitOK = cliutil.ExitSuccess
	// ExitError: the connection could not be made, was reset or broke.
	ExitError = cliutil.ExitFailure
	// ExitUsage: the options are wrong (for example a bad address).
	ExitUsage = cliutil.ExitUsage
	// ExitClosedByServer: the server closed the connection on its own
	// (kicked, shutting down, full, idle), also when the input had
	// already ended.
	ExitClosedByServer = 3
	// ExitInterrupted: the user interrupted (Ctrl-C, or a signal cancelled
	// the context).
	ExitInterrupted = cliutil.ExitInterrupted
)

// ClosePhrase is what a client sends to have the server close the
// connection. The server answers the bytes before it and then closes
// (see package protocol).
const ClosePhrase = protocol.Close

// Default timeouts.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultDrainTimeout = 5 * time.Second
	DefaultPrompt       = "> "
)

// Options configure one Run.
type Options struct {
	// Addr is the server's HOST:PORT.
	Addr string
	// AddrSource says where Addr came from ("--addr", "CHAT_ADDR"), for
	// error messages; may be empty.
	AddrSource string
	// Timeout bounds connecting; 0 means no bound beyond the context's.
	Timeout time.Duration
	// DrainTimeout bounds how long the server may stay silent, after our
	// input has ended, before it closes the connection; 0 means wait for
	// ever. When it runs out Run warns and exits ExitOK: all input was sent.
	DrainTimeout time.Duration

	// Stdin is what the user types; Stdout gets the server's output and
	// Stderr the one-line explanations of how the session ended.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Interactive drives Stdin and Stdout as a terminal: a line editor with
	// a prompt and history, server output written through it. Terminal,
	// if set, puts the real terminal into raw mode and reports its size.
	Interactive bool
	Terminal    *Terminal
	// EscapeControls, outside interactive mode, passes the server's bytes
	// to Stdout through the same filter as interactive mode (control
	// characters shown, not obeyed): for a Stdout that is a terminal.
	EscapeControls bool
	// TLS, if not nil, runs the session over TLS with this configuration
	// (chat --tls); nil is plain TCP.
	TLS *tls.Config

	// Prompt is shown in interactive mode; empty means DefaultPrompt.
	Prompt string
}

// Run connects to opts.Addr and runs a chat session until the server closes
// the connection, the user ends it, or ctx is cancelled. It returns the
// process exit code and has already written any explanation to Stderr.
//
// When the server ends the session, a goroutine may still be blocked reading
// Stdin as Run returns (a read from a terminal or pipe cannot be
// interrupted); the caller is expected to exit, or to close Stdin.
func Run(ctx context.Context, opts Options) int {
	if opts.Stdin == nil {
		opts.Stdin = eofReader{}
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Prompt == "" {
		opts.Prompt = DefaultPrompt
	}
	if err := ValidateAddr(opts.Addr); err != nil {
		from := ""
		if opts.AddrSource == AddrEnv {
			from = " (from " + AddrEnv + ")"
		}
		fmt.Fprintf(opts.Stderr, "chat: invalid address %q%s: %v\n", opts.Addr, from, err)
		return ExitUsage
	}
	if opts.Timeout < 0 || opts.DrainTimeout < 0 {
		fmt.Fprintln(opts.Stderr, "chat: timeouts must not be negative")
		return ExitUsage
	}

	conn, code := dial(ctx, opts)
	if conn == nil {
		return code
	}
	s := &session{opts: opts, conn: conn}
	if opts.Interactive {
		return s.runInteractive(ctx)
	}
	return s.runPiped(ctx)
}

// chatConn is the session's connection: a *net.TCPConn, or a *tls.Conn over
// one. Both can end their sending side alone (CloseWrite; over TLS a
// close_notify, which the server reads as the end of input).
type chatConn interface {
	net.Conn
	CloseWrite() error
}

func dial(ctx context.Context, opts Options) (chatConn, int) {
	dctx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp", opts.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ExitInterrupted
		}
		fmt.Fprintf(opts.Stderr, "chat: cannot connect to %s: %s\n", opts.Addr, dialErrorText(err, opts.Timeout))
		return nil, ExitError
	}
	tc, ok := c.(*net.TCPConn)
	if !ok { // cannot happen for "tcp"
		c.Close()
		fmt.Fprintf(opts.Stderr, "chat: cannot connect to %s: not a TCP connection\n", opts.Addr)
		return nil, ExitError
	}
	if opts.TLS == nil {
		return tc, 0
	}
	tlsConn := tls.Client(tc, opts.TLS)
	if err := tlsConn.HandshakeContext(dctx); err != nil {
		tc.Close()
		if ctx.Err() != nil {
			return nil, ExitInterrupted
		}
		fmt.Fprintf(opts.Stderr, "chat: TLS with %s failed: %s\n", opts.Addr, tlsErrorText(err, opts.Timeout))
		return nil, ExitError
	}
	return tlsConn, 0
}

// tlsErrorText says why a handshake failed in one line, with the flag
// that usually fixes it.
func tlsErrorText(err error, timeout time.Duration) string {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &unknownCA):
		return "the server's certificate is not signed by a CA this machine trusts (give the server's CA with --ca FILE)"
	case errors.As(err, &hostErr) && namesNoHost(hostErr.Certificate):
		// No --server-name can match: TLS clients read the names in
		// subjectAltName only, and this certificate has none.
		return fmt.Sprintf("the server's certificate names its host only in the subject's common name (CN=%s), which TLS clients no longer accept: "+
			"the certificate must list its names in subjectAltName (make one with openssl req … -addext subjectAltName=DNS:NAME,IP:ADDRESS; see the README)",
			hostErr.Certificate.Subject.CommonName)
	case errors.As(err, &hostErr):
		return hostErr.Error() + " (connect by a name the certificate has, or give --server-name NAME)"
	}
	return err.Error()
}

// namesNoHost reports that a certificate has no subjectAltName a client
// could match, whatever name it verifies against.
func namesNoHost(c *x509.Certificate) bool {
	return c != nil && len(c.DNSNames) == 0 && len(c.IPAddresses) == 0 && len(c.URIs) == 0 && len(c.EmailAddresses) == 0
}

// session is one connection's state shared by the two directions.
type session struct {
	opts Options
	conn chatConn

	mu          sync.Mutex
	notices     noticeTracker // fed by the reading side
	expectClose bool          // we sent the close phrase or half-closed
	userClosed  bool          // we sent the close phrase
	noticeMark  int           // notices seen when expectClose was set

	draining atomic.Bool // input is over: bound the server's silence
	sent     atomic.Bool // some of the user's bytes went to the server
}

// inputResult is how the sending side ended.
type inputResult struct {
	kind inputKind
	err  error
}

type inputKind int

const (
	inputEOF       inputKind = iota // input ended; we half-closed
	inputClose                      // the close phrase was sent; we half-closed
	inputInterrupt                  // the user pressed Ctrl-C
	inputReadError                  // reading the user's input failed
	inputSendError                  // sending to the server failed
)

// readServer copies the server's bytes to out as they arrive, until the
// server closes the connection (nil) or reading fails.
func (s *session) readServer(out func([]byte) error) error {
	buf := make([]byte, 32*1024)
	for {
		n, err := s.conn.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.notices.feed(buf[:n])
			s.mu.Unlock()
			if werr := out(buf[:n]); werr != nil {
				return &outputError{werr}
			}
			if s.draining.Load() && s.opts.DrainTimeout > 0 {
				s.conn.SetReadDeadline(time.Now().Add(s.opts.DrainTimeout))
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

type outputError struct{ err error }

func (e *outputError) Error() string { return "writing output: " + e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }

// markClosing records, before the phrase or the half-close goes out, that
// the server's close will be expected, so that the reading side can never
// see the close first.
func (s *session) markClosing(phrase bool) {
	s.mu.Lock()
	if !s.expectClose {
		s.expectClose = true
		s.noticeMark = s.notices.seq
	}
	if phrase {
		s.userClosed = true
	}
	s.mu.Unlock()
}

// halfClose ends our sending side and starts bounding the server's
// silence.
func (s *session) halfClose() error {
	s.markClosing(false)
	s.draining.Store(true)
	if s.opts.DrainTimeout > 0 {
		s.conn.SetReadDeadline(time.Now().Add(s.opts.DrainTimeout))
	}
	return s.conn.CloseWrite()
}

// sendPhraseAware sends p, watching for the close phrase across calls
// with m. If p completes the phrase, only the bytes up to its end are sent
// (the server ignores the rest, and bytes arriving after it closed would
// only earn a reset) and found is true.
func (s *session) sendPhraseAware(p []byte, m *protocol.Matcher) (found bool, err error) {
	if end, ok := m.Find(p); ok {
		s.markClosing(true)
		_, err = s.conn.Write(p[:end])
		return true, err
	}
	_, err = s.conn.Write(p)
	return false, err
}

// sendInput copies r to the server until r ends or the phrase was sent.
func (s *session) sendInput(r io.Reader) inputResult {
	buf := make([]byte, 32*1024)
	var phrase protocol.Matcher
	for {
		n, err := r.Read(buf)
		if n > 0 {
			found, werr := s.sendPhraseAware(buf[:n], &phrase)
			if werr != nil {
				return inputResult{kind: inputSendError, err: werr}
			}
			s.sent.Store(true)
			if found {
				if err := s.halfClose(); err != nil {
					return inputResult{kind: inputSendError, err: err}
				}
				return inputResult{kind: inputClose}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if err := s.halfClose(); err != nil {
					return inputResult{kind: inputSendError, err: err}
				}
				return inputResult{kind: inputEOF}
			}
			return inputResult{kind: inputReadError, err: err}
		}
	}
}

func (s *session) runPiped(ctx context.Context) int {
	readDone := make(chan error, 1)
	go func() {
		write := s.pipedOutput()
		err := s.readServer(func(p []byte) error { return write(p, false) })
		if err == nil {
			err = write(nil, true)
		}
		readDone <- err
	}()
	inputDone := make(chan inputResult, 1)
	go func() { inputDone <- s.sendInput(s.opts.Stdin) }()
	code, msg := s.wait(ctx, readDone, inputDone)
	s.conn.Close()
	if msg != "" {
		fmt.Fprintln(s.opts.Stderr, msg)
	}
	return code
}

// pipedOutput returns what writes the server's bytes to Stdout in piped
// mode: unchanged, or filtered for a terminal. final flushes what the
// filter holds back (the start of a character cut by a read).
func (s *session) pipedOutput() func(p []byte, final bool) error {
	if !s.opts.EscapeControls {
		return func(p []byte, _ bool) error {
			_, err := s.opts.Stdout.Write(p)
			return err
		}
	}
	var f termFilter
	return func(p []byte, final bool) error {
		b := f.filter(p, final)
		if len(b) == 0 {
			return nil
		}
		_, err := s.opts.Stdout.Write(b)
		return err
	}
}

// wait runs the session to its end and returns the exit code and the line
// (if any) that explains it.
func (s *session) wait(ctx context.Context, readDone <-chan error, inputDone <-chan inputResult) (int, string) {
	var sendErr error
	for {
		select {
		case <-ctx.Done():
			return ExitInterrupted, ""
		case err := <-readDone:
			return s.ended(err, sendErr)
		case in := <-inputDone:
			inputDone = nil
			switch in.kind {
			case inputEOF, inputClose:
				// Wait for the server's last bytes and its close.
			case inputInterrupt:
				return ExitInterrupted, ""
			case inputReadError:
				return ExitError, "chat: cannot read input: " + neterr.Text(in.err)
			case inputSendError:
				// The connection broke; the reading side will see
				// why (a close, with its notice, or a reset). Bound
				// the wait in case it does not.
				sendErr = in.err
				s.conn.SetReadDeadline(time.Now().Add(time.Second))
			}
		}
	}
}

// ended turns the reading side's end into an exit code and message.
func (s *session) ended(readErr, sendErr error) (int, string) {
	s.mu.Lock()
	expect, user, mark := s.expectClose, s.userClosed, s.noticeMark
	reason, haveReason := s.notices.reason(0)
	if expect {
		reason, haveReason = s.notices.reasonAfterEnd(mark, s.sent.Load())
	}
	s.mu.Unlock()

	reset := errors.Is(readErr, syscall.ECONNRESET)
	var oe *outputError
	switch {
	case readErr == nil, reset && (haveReason || user):
		// The server closed the connection. A reset right after a
		// notice, or after we asked for the close, is still a close:
		// the server dropped the connection with our bytes unread.
		msg := ""
		switch {
		case haveReason && s.outputIsTerminal():
			// The notice is on the screen just above.
			msg = "chat: connection closed by server"
		case haveReason:
			msg = "chat: connection closed by server: " + reason
		case !expect:
			msg = "chat: connection closed by server"
		case s.opts.Interactive:
			msg = "chat: connection closed"
		}
		// A notice means the server ended the session for its own
		// reason (kick, shutdown, full), even after our input ended;
		// only the close the user asked for is a success then.
		if user || expect && !haveReason {
			return ExitOK, msg
		}
		return ExitClosedByServer, msg
	case errors.As(readErr, &oe):
		return ExitError, "chat: cannot write output: " + neterr.Text(oe.err)
	case sendErr != nil && neterr.IsTimeout(readErr):
		return ExitError, "chat: " + connErrorText(sendErr)
	case s.draining.Load() && neterr.IsTimeout(readErr):
		return ExitOK, fmt.Sprintf("chat: the server stayed silent for %v after the end of input without closing the connection; giving up", s.opts.DrainTimeout)
	}
	return ExitError, "chat: " + connErrorText(readErr)
}

// outputIsTerminal reports whether the server's output is shown on a
// terminal, where the user reads its notices as they come.
func (s *session) outputIsTerminal() bool { return s.opts.Interactive || s.opts.EscapeControls }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
