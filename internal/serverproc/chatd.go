package serverproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ChatdOptions configure a chatd started by StartChatd.
type ChatdOptions struct {
	// Binary is the chatd executable.
	Binary string
	// Dir holds the config file, the admin socket (Dir/run/admin.sock) and
	// the state directory (Dir/state). It is created if missing. Keep its
	// path short: Unix socket paths are limited to about 100 bytes.
	Dir string
	// Config is YAML merged over the base config (listen on a free
	// loopback port, the socket and state in Dir): a top-level key it sets
	// replaces the base's.
	Config string
	// Args are extra arguments after `run --config FILE`.
	Args []string
	// Env is added to the environment (which has no CHATD_* variables).
	Env []string
	// Wrapper runs chatd under another command, e.g. prlimit.
	Wrapper []string
	// Output receives chatd's stdout and stderr.
	Output io.Writer
}

// Chatd is a chatd child process.
type Chatd struct {
	*Process
	Dir    string // from ChatdOptions
	Socket string // admin socket path
	Config string // config file path
}

// StartChatd writes chatd's config into o.Dir and runs `chatd run` with
// it. Call WaitListening to wait until it serves.
func StartChatd(o ChatdOptions) (*Chatd, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("chatd directory: %w", err)
	}
	c := &Chatd{Dir: o.Dir, Socket: filepath.Join(o.Dir, "run", "admin.sock"),
		Config: filepath.Join(o.Dir, "chatd.yaml")}
	base := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nadmin:\n  socket: %s\n",
		filepath.Join(o.Dir, "state"), c.Socket)
	if err := os.WriteFile(c.Config, []byte(MergeYAML(base, o.Config)), 0o644); err != nil {
		return nil, fmt.Errorf("chatd config: %w", err)
	}
	argv := append(append([]string{}, o.Wrapper...), o.Binary, "run", "--config", c.Config)
	p, err := Start(Spec{Name: "chatd", Argv: append(argv, o.Args...), Env: o.Env,
		Output: o.Output, Listening: ChatdListening})
	if err != nil {
		return nil, err
	}
	c.Process = p
	return c, nil
}

// chatdStartedText is slog's text form of the line:
// … msg="chatd started" listen=127.0.0.1:PORT …
var chatdStartedText = regexp.MustCompile(`msg="chatd started".* listen=(\S+)`)

// ChatdListening recognises chatd's "chatd started" log line, in its JSON
// or its text format, and returns the address it names.
func ChatdListening(line []byte) (string, bool) {
	line = bytes.TrimSpace(line)
	if bytes.HasPrefix(line, []byte("{")) {
		var rec struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "chatd started" && rec.Listen != "" {
			return rec.Listen, true
		}
		return "", false
	}
	if m := chatdStartedText.FindSubmatch(line); m != nil {
		return string(m[1]), true
	}
	return "", false
}

// MergeYAML appends extra to base, leaving out base's top-level sections
// that extra redefines (a YAML mapping may not repeat a key). It works on
// the simple configs tests write: top-level keys at column 0, nested ones
// indented.
func MergeYAML(base, extra string) string {
	if extra == "" {
		return base
	}
	redefined := map[string]bool{}
	for _, l := range strings.Split(extra, "\n") {
		if l != "" && l[0] != ' ' && l[0] != '#' {
			if i := strings.Index(l, ":"); i > 0 {
				redefined[l[:i]] = true
			}
		}
	}
	var out []string
	skip := false
	for _, l := range strings.Split(base, "\n") {
		if l != "" && l[0] != ' ' {
			i := strings.Index(l, ":")
			skip = i > 0 && redefined[l[:i]]
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n" + strings.TrimRight(extra, "\n") + "\n"
}
