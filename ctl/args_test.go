package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/config"
)

// run executes chatctl's command tree in-process with no daemon behind
// --socket: only what fails before connecting can be tested this way.
func run(args ...string) (stdout, stderr string, err error) {
	cmd := newRootCmd()
	var o, e strings.Builder
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(append([]string{"--socket", "/nonexistent/chatd-test.sock"}, args...))
	err = cmd.Execute()
	return o.String(), e.String(), err
}

func TestUsageMistakesExit2BeforeAnythingIsSent(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"kick"}, "give the ID of at least one client"},
		{[]string{"kick", "abc"}, `bad client id "abc"`},
		{[]string{"kick", "0"}, `bad client id "0"`},
		{[]string{"kick", "1", "--all", "--yes"}, "not both"},
		{[]string{"kick", "--all"}, "stdin is not a terminal: add --yes"},
		{[]string{"kick", "1", "--reason", "two\nlines"}, "one line"},
		{[]string{"kick", "1", "--reason", strings.Repeat("x", 201)}, "too long"},
		{[]string{"kick", "1", "--reason", "hidden\u200bspace"}, "printable"},
		{[]string{"kick", "--all", "--yes", "--reason", "\u202egnikcik"}, "printable"},
		{[]string{"list", "extra"}, "unknown command"},
		{[]string{"list", "-o", "yaml"}, `unknown output format "yaml" (choose table, wide, json)`},
		{[]string{"status", "-o", "wide"}, `unknown output format "wide" (choose text, json)`},
		{[]string{"list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	} {
		_, _, err := run(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.args, err, c.want)
			continue
		}
		if code := cliutil.Code(exitStatus(err)); code != cliutil.ExitUsage {
			t.Errorf("%q: exit %d, want %d (%v)", c.args, code, cliutil.ExitUsage, err)
		}
		if strings.Contains(err.Error(), "cannot reach chatd") {
			t.Errorf("%q: tried to reach chatd before checking the command line", c.args)
		}
	}
}

func TestDuplicateIDsAreKickedOnce(t *testing.T) {
	o := &kickOptions{}
	if err := o.parseArgs(newKickCmd(&app{}), []string{"3", "5", "3", "web1/3", "web1/3", "[::1]:22/5"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.ids, []hostID{{"", 3}, {"", 5}, {"web1", 3}, {"[::1]:22", 5}}) {
		t.Fatalf("ids %v", o.ids)
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{errors.New("cannot reach chatd at /x: no such file (is chatd running?)"), cliutil.ExitFailure},
		{cliutil.Usagef("bad"), cliutil.ExitUsage},
		{&config.Error{Key: "listen", Reason: "bad"}, cliutil.ExitUsage},
		{cliutil.Silent(exitNotConnected), 3},
	} {
		if got := cliutil.Code(exitStatus(c.err)); got != c.want {
			t.Errorf("%v: %d, want %d", c.err, got, c.want)
		}
	}
}

func TestDaemonNotRunningIsOneLineExit1(t *testing.T) {
	_, _, err := run("list")
	if err == nil || err.Error() != "cannot reach chatd at /nonexistent/chatd-test.sock: no such file (is chatd running?)" {
		t.Fatalf("err %v", err)
	}
	if cliutil.Code(exitStatus(err)) != cliutil.ExitFailure {
		t.Fatalf("exit %d", cliutil.Code(exitStatus(err)))
	}
}

func TestConfirmTakesOnlyAYes(t *testing.T) {
	for answer, want := range map[string]bool{"y\n": true, "YES\n": true, " yes \n": true, "y": true,
		"\n": false, "n\n": false, "yep\n": false, "": false} {
		var prompt strings.Builder
		if got := confirm(strings.NewReader(answer), &prompt, "Kick all 3 connected clients? [y/N] "); got != want {
			t.Errorf("answer %q: %v, want %v", answer, got, want)
		}
		if prompt.String() != "Kick all 3 connected clients? [y/N] " {
			t.Errorf("prompt %q", prompt.String())
		}
	}
}
