package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

// envHost lists the hosts, comma separated, when no --host is given.
const envHost = "CHATCTL_HOST"

// target is one chatd that a command talks to: the local one, or one on a
// host reached over SSH.
type target struct {
	host   string // as the HOST column shows it; "" for the local chatd
	client *adminclient.Client
}

// sshHost is a host given as ssh://[user@]host[:port].
type sshHost struct {
	user, host, port string
	label            string // host[:port], as written: how chatctl names it
}

// parseSSHHost reads a --host value. Only the ssh scheme is known; the
// host may be an alias from ~/.ssh/config, which ssh resolves.
func parseSSHHost(s string) (sshHost, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "ssh" || u.Opaque != "" {
		return sshHost{}, cliutil.Usagef("--host %q: give ssh://[user@]host[:port]", s)
	}
	h := sshHost{user: u.User.Username(), host: u.Hostname(), port: u.Port(), label: u.Host}
	_, hasPassword := u.User.Password()
	switch {
	case h.host == "":
		return sshHost{}, cliutil.Usagef("--host %q names no host: give ssh://[user@]host[:port]", s)
	case strings.HasPrefix(h.host, "-"), strings.HasPrefix(h.user, "-"):
		// ssh would read it as an option.
		return sshHost{}, cliutil.Usagef("--host %q: a host or user may not start with '-'", s)
	case hasPassword:
		return sshHost{}, cliutil.Usagef("--host %q: no password in the address; ssh uses your keys or agent", s)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return sshHost{}, cliutil.Usagef("--host %q: only ssh://[user@]host[:port], no path or query", s)
	}
	return h, nil
}

// sshCommand is the ssh command line that runs `chatctl dial-stdio` on
// the host, passing on --socket or --config, which then name the socket
// or config file there. BatchMode: hosts are asked at once, and prompts
// for passwords or unknown host keys from several could not be answered;
// the keys or agent and known_hosts that ~/.ssh/config sets up are used.
func (h sshHost) sshCommand(socketFlag, configFlag string) []string {
	argv := []string{"ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}
	if h.user != "" {
		argv = append(argv, "-l", h.user)
	}
	if h.port != "" {
		argv = append(argv, "-p", h.port)
	}
	argv = append(argv, "--", h.host, "chatctl")
	// ssh hands the command to the remote user's shell as one string.
	if socketFlag != "" {
		argv = append(argv, "--socket", shellQuote(socketFlag))
	}
	if configFlag != "" {
		argv = append(argv, "--config", shellQuote(configFlag))
	}
	return append(argv, "dial-stdio")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hostList is the hosts from --host, else from $CHATCTL_HOST.
func (a *app) hostList() []string {
	hosts := a.hostFlags
	if len(hosts) == 0 {
		hosts = strings.Split(os.Getenv(envHost), ",")
	}
	var out []string
	for _, h := range hosts {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// targets is the chatd or chatd's the command talks to, sorted by host:
// the local one when no host is given.
func (a *app) targets() ([]target, error) {
	ts, err := a.targetList()
	// The listings of all the hosts, asked at once, are bounded together.
	budget := adminclient.NewListBudget(adminclient.MaxListedClients)
	for _, t := range ts {
		t.client.SetListBudget(budget)
	}
	return ts, err
}

func (a *app) targetList() ([]target, error) {
	hosts := a.hostList()
	if len(hosts) == 0 {
		c, err := a.client()
		if err != nil {
			return nil, err
		}
		return []target{{client: c}}, nil
	}
	var ts []target
	seen := map[string]sshHost{}
	for _, s := range hosts {
		h, err := parseSSHHost(s)
		if err != nil {
			return nil, err
		}
		// The same host twice is asked once (shell completion, for one,
		// parses the flags twice); the same name for two logins would
		// make HOST ambiguous.
		if prev, ok := seen[h.label]; ok {
			if prev != h {
				return nil, cliutil.Usagef("host %s is given twice, with different users", h.label)
			}
			continue
		}
		seen[h.label] = h
		ts = append(ts, target{host: h.label, client: adminclient.NewCommand(h.label, h.sshCommand(a.socketFlag, a.configFlag))})
	}
	slices.SortFunc(ts, func(x, y target) int { return cmp.Compare(x.host, y.host) })
	return ts, nil
}

// closeAll ends the connections (over SSH, the ssh processes) the
// targets keep.
func closeAll(ts []target) {
	for _, t := range ts {
		t.client.Close()
	}
}

// hostResult is what one host answered.
type hostResult[T any] struct {
	target
	value T
	err   error // one line that names the host
}

// maxConcurrentHosts bounds the ssh processes running at once: a fleet
// of hundreds must not cost hundreds of processes and logins at once.
const maxConcurrentHosts = 32

// queryAll asks the targets at once (up to maxConcurrentHosts): a slow or
// unreachable host costs its own time only. The results are in the
// targets' order.
func queryAll[T any](ctx context.Context, ts []target, ask func(context.Context, target) (T, error)) []hostResult[T] {
	res := make([]hostResult[T], len(ts))
	slots := make(chan struct{}, maxConcurrentHosts)
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			v, err := ask(ctx, t)
			res[i] = hostResult[T]{target: t, value: v, err: t.explain(err)}
		})
	}
	wg.Wait()
	return res
}

// explain puts the host in front of err and says what a failed ssh
// meant; errors of the local chatd stay as they are.
func (t target) explain(err error) error {
	if err == nil || t.host == "" {
		return err
	}
	var ce *adminclient.CommandError
	if !errors.As(err, &ce) || ce.Err != nil {
		return fmt.Errorf("%s: %w", t.host, err)
	}
	line := ce.Stderr
	switch {
	case ce.Status == 255: // ssh's own failure: unreachable, refused, not authenticated
		if line == "" {
			return fmt.Errorf("%s: ssh failed with status 255", t.host)
		}
		return fmt.Errorf("%s: ssh: %s", t.host, strings.TrimPrefix(line, "ssh: "))
	case ce.Status == 127 || strings.Contains(line, "command not found"):
		return fmt.Errorf("%s: chatctl is not installed there, or not on the PATH ssh gives (%s)", t.host, line)
	case strings.Contains(line, `unknown command "dial-stdio"`):
		return fmt.Errorf("%s: the chatctl there is too old to be reached with --host (it has no dial-stdio)", t.host)
	case strings.HasPrefix(line, "chatctl: "):
		// The host's chatctl said why, as it would have said it there.
		return fmt.Errorf("%s: %s", t.host, strings.TrimPrefix(line, "chatctl: "))
	}
	return fmt.Errorf("%s: %w", t.host, err)
}

// reportFailures writes the failed hosts' lines to stderr and returns the
// error the command ends with: silent, as every line has been written.
func reportFailures[T any](w io.Writer, res []hostResult[T]) error {
	failed := 0
	for _, r := range res {
		if r.err != nil {
			fmt.Fprintf(w, "chatctl: %v\n", r.err)
			failed++
		}
	}
	if failed > 0 {
		return cliutil.Silent(cliutil.ExitFailure)
	}
	return nil
}

// oneTarget is the single chatd a command that takes one host at a time
// talks to: the local one, or the one --host names.
func (a *app) oneTarget(command string) (target, error) {
	ts, err := a.targets()
	if err != nil {
		return target{}, err
	}
	if len(ts) > 1 {
		closeAll(ts)
		return target{}, cliutil.Usagef("%s talks to one host at a time; give one --host", command)
	}
	return ts[0], nil
}
