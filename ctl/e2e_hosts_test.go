package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// TestHostsAreAskedAtOnce runs `list` for two hosts through a stand-in
// for ssh that lets a host answer only once the other one has been asked
// too: asked one after the other, the first would wait in vain and fail.
// Past that, the stand-in runs the real `chatctl dial-stdio` for the
// host's chatd, as sshd would.
func TestHostsAreAskedAtOnce(t *testing.T) {
	web1, web2 := testbin.StartChatd(t, testbin.Options{}), testbin.StartChatd(t, testbin.Options{})
	dial(t, web1).say("one")
	dial(t, web2).say("two")
	dir := t.TempDir()
	for host, c := range map[string]*testbin.Chatd{"web1": web1, "web2": web2} {
		if err := os.Symlink(c.Socket, filepath.Join(dir, host+".sock")); err != nil {
			t.Fatal(err)
		}
	}
	fakeSSH := fmt.Sprintf(`#!/bin/sh
# ssh [options] -- HOST chatctl dial-stdio
while [ "$1" != "--" ]; do shift; done
host=$2 d=%s
: >"$d/$host.asked"
for other in web1 web2; do
	i=0
	while [ ! -e "$d/$other.asked" ]; do
		i=$((i+1))
		if [ $i -gt 400 ]; then echo "ssh: $other was not asked while $host waited" >&2; exit 255; fi
		sleep 0.05
	done
done
exec %s --socket "$d/$host.sock" dial-stdio
`, dir, testbin.Path(t, "chatctl"))
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(fakeSSH), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "CHATCTL_HOST=ssh://web2,ssh://web1"}
	r := ctl(t, env, "list").mustOK(t)
	_, rows, count := tableRows(r.stdout)
	if count != "2 clients" || len(rows) != 2 || rows[0][0] != "web1" || rows[1][0] != "web2" {
		t.Fatalf("list of two hosts:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "HOST") {
		t.Fatalf("no HOST column:\n%s", r.stdout)
	}
}
