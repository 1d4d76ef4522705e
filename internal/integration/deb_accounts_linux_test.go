package integration

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A chatd account that was there before the package is never removed: a
// system account of that name (one install.sh made, say) is reused and
// kept by purge; a person's account named chatd is refused at install
// (as adduser --system refuses it) and kept, with its home, by purge.
func TestDebPurgeKeepsAccountsItDidNotCreate(t *testing.T) {
	root, goBin := debPrerequisites(t)
	ctx, cancel := context.WithTimeout(context.Background(), debTimeout)
	defer cancel()
	deb := buildDeb(t, ctx, goBin, root, t.TempDir(), "1.0.0")
	sb, svc, apt := debSandbox(t, ctx)

	// --- a system account made before, as install.sh makes it
	sb.sh(ctx, 15*time.Second, "groupadd --system chatd && useradd --system --gid chatd --no-create-home "+
		"--home-dir /nonexistent --shell /usr/sbin/nologin chatd")
	account := debAccount(t, ctx, sb)
	apt("install", deb)
	if props := svc.show("ActiveState", "User"); props["ActiveState"] != "active" || props["User"] != "chatd" {
		t.Errorf("with a system account chatd made before: %v, want active as chatd", props)
	}
	apt("purge", "chatd")
	if now := debAccount(t, ctx, sb); now != account {
		t.Errorf("purge changed the system account made before the package: %q → %q", account, now)
	}

	// --- a person's account named chatd
	sb.sh(ctx, 15*time.Second, "userdel chatd; getent group chatd >/dev/null && groupdel chatd; "+
		"useradd --create-home --user-group --shell /bin/bash chatd && echo mine >/home/chatd/notes")
	person := debAccount(t, ctx, sb)
	out, err := sb.output(ctx, 5*time.Minute, "sh", "-c", `exec apt-get -y --no-install-recommends install "$1" 2>&1`, "apt-get", deb)
	t.Logf("apt-get install with a person's account chatd: %v\n%s", err, out)
	if err == nil {
		t.Errorf("the package installed over a person's account chatd")
	}
	if !strings.Contains(out, "chatd: group chatd exists and is not a system group") {
		t.Errorf("install did not say why it refused the account")
	}
	if st, _ := sb.output(ctx, 10*time.Second, "systemctl", "is-active", "chatd"); strings.TrimSpace(st) == "active" {
		t.Errorf("chatd runs as a person's account")
	}
	apt("purge", "chatd")
	if now := debAccount(t, ctx, sb); now != person {
		t.Errorf("purge changed a person's account chatd: %q → %q", person, now)
	}
	if notes := sb.must(ctx, 10*time.Second, "cat", "/home/chatd/notes"); notes != "mine\n" {
		t.Errorf("the person's home after purge: notes = %q", notes)
	}
	if st, err := sb.output(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "chatd"); err == nil && strings.TrimSpace(st) != "un" {
		t.Errorf("after purge dpkg says %q", st)
	}
}

// Where a policy-rc.d forbids service actions (every container image has
// one), an upgrade says chatd was not restarted, and remove and purge
// still succeed and say that chatd runs on and how to stop it, rather
// than failing half-way with chatd running.
func TestDebRemoveAndPurgeWhereServicesAreForbidden(t *testing.T) {
	root, goBin := debPrerequisites(t)
	ctx, cancel := context.WithTimeout(context.Background(), debTimeout)
	defer cancel()
	pkgs := t.TempDir()
	first, second := buildDeb(t, ctx, goBin, root, pkgs, "1.0.0"), buildDeb(t, ctx, goBin, root, pkgs, "1.0.1")
	sb, svc, apt := debSandbox(t, ctx)

	apt("install", first)
	pid := svc.show("MainPID")["MainPID"]
	sb.sh(ctx, 10*time.Second, "printf '#!/bin/sh\\nexit 101\\n' >"+policyRCD+" && chmod 755 "+policyRCD)
	stillRunning := "chatd: chatd.service (PID " + pid + ") is still running"

	// An upgrade whose restart is forbidden says the old process runs on.
	out := apt("install", second)
	if now := svc.show("MainPID")["MainPID"]; now != pid {
		t.Fatalf("the upgrade under policy-rc.d restarted chatd (PID %s → %s); the test expects it not to", pid, now)
	}
	if want := "chatd: chatd.service was not restarted: /usr/sbin/policy-rc.d forbids restarting services here. PID " + pid +
		" still runs the previous version; restart it: systemctl restart chatd"; !strings.Contains(out, want) {
		t.Errorf("the upgrade did not say %q", want)
	}
	if strings.Contains(out, "chatd.service is running; 'chatctl status' answers") {
		t.Errorf("the upgrade claimed the new chatd runs")
	}

	out = apt("remove", "chatd")
	if now := svc.show("ActiveState", "MainPID"); now["ActiveState"] != "active" || now["MainPID"] != pid {
		t.Fatalf("after remove under policy-rc.d: %v; the test expects chatd left running (PID %s)", now, pid)
	}
	for _, want := range []string{stillRunning + ": /usr/sbin/policy-rc.d forbids stopping services here.", "systemctl stop chatd"} {
		if !strings.Contains(out, want) {
			t.Errorf("remove did not say %q", want)
		}
	}
	if st := sb.must(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "chatd"); strings.TrimSpace(st) != "rc" {
		t.Errorf("after remove dpkg says %q, want rc", st)
	}

	out = apt("purge", "chatd")
	if !strings.Contains(out, stillRunning+", now without its config and state") {
		t.Errorf("purge did not say chatd is still running")
	}
	if st, err := sb.output(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "chatd"); err == nil && strings.TrimSpace(st) != "un" {
		t.Errorf("after purge dpkg says %q, want the package gone", st)
	}
	for _, p := range []string{"/etc/chatd", "/var/lib/chatd", "/usr/bin/chatd"} {
		if _, err := sb.output(ctx, 10*time.Second, "test", "!", "-e", p); err != nil {
			t.Errorf("%s left after purge", p)
		}
	}
	// What the message says to do works, and then nothing runs.
	sb.must(ctx, 30*time.Second, "systemctl", "stop", "chatd")
	if ps, err := sb.output(ctx, 10*time.Second, "pgrep", "-x", "chatd"); err == nil {
		t.Errorf("chatd processes left after systemctl stop: %s", ps)
	}
}
