package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/clidocs"
	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/tlsclient"
)

const long = `chat connects to a chatd server and runs both directions at once: whatever
the server sends is printed the moment it arrives, and whatever you type is
sent to it. chatd answers in UPPERCASE.

On a terminal chat says whom it connected to, then shows a prompt with line
editing and history, and sends each line when you press Enter. Type CLOSE
SOCKET to end the session; press Ctrl-D on an empty line to end your input
and see the server's last answers; Ctrl-C quits at once. The server's
control characters are shown (^[, <U+009B>), never obeyed.

With input from a pipe or a file chat sends it as it is and copies the
server's raw bytes to standard output (escaped as above if that is a
terminal). When the input ends it closes its
sending side, prints what the server still sends and exits once the server
closes the connection.

When the server closes the connection on its own (kicked, shutting down,
full) chat says why on standard error, from the server's last "*** " notice
(on a terminal, where the notice is on the screen, it says only that the
server closed the connection).

The server address is --addr if given; else the first address of "listen"
in chatd's config file --config FILE, if given; else $CHAT_ADDR if set;
else the chatd of this machine, from the config files chatd reads
($CHATD_LISTEN overrides them, as for chatd); else 127.0.0.1:5605. A
chatd listening on every interface is reached on loopback.

With --tls chat speaks TLS and verifies the server's certificate against
the system's CAs (or --ca FILE) under the host name in the address (or
--server-name NAME); there is no way to skip the check. --cert and --key
send a client certificate when the server asks for one.

Exit status:
  0    you sent CLOSE SOCKET, or your input ended and the server closed
  1    could not connect, or the connection was reset or broke
  2    bad usage, such as an unknown flag or a bad address
  3    the server closed the connection on its own (kick, shutdown, full),
       also after the input ended
  130  interrupted`

const examples = `  # Chat with the local chatd
  chat

  # Another server, by flag or environment
  chat --addr chat.example.org:5605
  CHAT_ADDR='[::1]:5605' chat

  # Over TLS, verifying the server against your own CA
  chat --tls --addr chat.example.org:5606 --ca ca.pem

  # Script it: prints HELLO and WORLD, exits 0
  printf 'hello\nworld\n' | chat

  # Ask the server to close the connection
  printf 'bye CLOSE SOCKET' | chat`

// run is the whole command with its surroundings passed in, so tests can
// call it. It returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := newRootCmd(stdin, stdout, stderr, getenv)
	cmd.SetArgs(args)
	return cliutil.Report(stderr, "chat", cmd.Execute())
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	var (
		addr         string
		configFile   string
		timeout      time.Duration
		drainTimeout time.Duration
		useTLS       bool
		tlsOpts      tlsclient.Options
	)
	cmd := &cobra.Command{
		Use:     "chat",
		Short:   "Chat with a chatd server",
		Long:    long,
		Example: examples,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cliutil.Usagef("unexpected argument %q (give the server as --addr HOST:PORT)", args[0])
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, source := chatclient.ResolveAddr(addr, cmd.Flags().Changed("addr"), getenv)
			// --config is asked for by name, so it beats $CHAT_ADDR.
			if source == "--addr" && cmd.Flags().Changed("config") {
				return cliutil.Usagef("give --addr or --config, not both")
			}
			if source == "default" || cmd.Flags().Changed("config") {
				fromConfig, from, ok, err := addrFromChatdConfig(configFile)
				if err != nil {
					return err
				}
				if ok {
					a, source = fromConfig, from
				}
			}
			opts := chatclient.Options{
				Addr:         a,
				AddrSource:   source,
				Timeout:      timeout,
				DrainTimeout: drainTimeout,
				Stdin:        stdin,
				Stdout:       stdout,
				Stderr:       stderr,
			}
			if !useTLS {
				for _, name := range []string{"ca", "cert", "key", "server-name"} {
					if cmd.Flags().Changed(name) {
						return cliutil.Usagef("--%s needs --tls", name)
					}
				}
			} else if chatclient.ValidateAddr(a) == nil {
				cfg, err := tlsclient.Config(tlsOpts, a)
				if err != nil {
					return cliutil.Usage(err)
				}
				opts.TLS = cfg
			}
			if in, ok := terminal(stdin, stdout); ok {
				tty, stop := chatclient.OSTerminal(int(in.Fd()))
				defer stop()
				opts.Interactive = true
				opts.Terminal = tty
			} else {
				// Input from a pipe, output to a terminal: the server
				// must not drive that terminal either.
				opts.EscapeControls = isTerminal(stdout)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			// Run has said on stderr whatever there is to say.
			if code := chatclient.Run(ctx, opts); code != chatclient.ExitOK {
				return cliutil.Silent(code)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(cliutil.FlagErrors)
	cliutil.AddVersion(cmd)
	cmd.AddCommand(clidocs.Command("1"))
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", chatclient.DefaultAddr, "server address HOST:PORT; overrides $"+chatclient.AddrEnv)
	f.StringVar(&configFile, "config", "", "chatd's config file, read for listen when no address is given (default: the files chatd reads)")
	f.DurationVar(&timeout, "timeout", chatclient.DefaultTimeout, "give up connecting after this long (0: no limit)")
	f.DurationVar(&drainTimeout, "drain-timeout", chatclient.DefaultDrainTimeout,
		"once input has ended, give up if the server stays silent this long without closing (0: wait for ever)")
	f.BoolVar(&useTLS, "tls", false, "connect with TLS, verifying the server's certificate")
	f.StringVar(&tlsOpts.CAFile, "ca", "", "with --tls: verify the server against the CA certificates in this PEM file instead of the system's")
	f.StringVar(&tlsOpts.CertFile, "cert", "", "with --tls: send this PEM client certificate (with --key)")
	f.StringVar(&tlsOpts.KeyFile, "key", "", "with --tls: the client certificate's PEM private key")
	f.StringVar(&tlsOpts.ServerName, "server-name", "", "with --tls: the name to verify the certificate against (default: the host in the address)")
	return cmd
}

// terminal reports whether both standard input and output are a terminal:
// only then is the session interactive.
func terminal(stdin io.Reader, stdout io.Writer) (*os.File, bool) {
	in, ok := stdin.(*os.File)
	if !ok || !chatclient.IsTerminal(int(in.Fd())) || !isTerminal(stdout) {
		return nil, false
	}
	return in, true
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && chatclient.IsTerminal(int(f.Fd()))
}
