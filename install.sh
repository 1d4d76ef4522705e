#!/bin/sh
# install.sh: build chatd, chatctl and chat from this checkout and install
# chatd as a system service (systemd on Linux, launchd on macOS).
# Run ./install.sh --help for the details.
set -eu

PREFIX=/usr/local
CONFIG_DIR=/etc/chatd
CONFIG=$CONFIG_DIR/chatd.yaml
# The accounts install.sh created (not found), one "user NAME" or
# "group NAME" a line: --purge removes those and no other.
ACCOUNTS_MADE=$CONFIG_DIR/.accounts-made-by-install.sh
SERVICE_USER=chatd
BINARIES="chatd chatctl chat"
MODULE=github.com/chatd/chatd
ARGS=$*

usage() {
	cat <<EOF
Usage: ./install.sh [--prefix DIR] [--no-start]
       ./install.sh --uninstall [--purge] [--prefix DIR]

Builds chatd, chatctl and chat from this checkout with the local Go
(go build -trimpath, version stamped), installs them to PREFIX/bin, creates
the system user and group '$SERVICE_USER' (Linux; no login shell, no home),
installs $CONFIG if it does not exist yet (an edited config is never
overwritten: the new sample goes beside it as chatd.yaml.new), installs the
service (chatd service install), starts or restarts it and waits until
'chatctl status' answers.

Run it as root. Running it again upgrades the binaries and restarts the
service, keeping the config and the state (the client-ID high-water mark).

Options:
  --prefix DIR   install the binaries to DIR/bin (default /usr/local);
                 not under /home: the service cannot run from there
  --no-start     install everything but do not start or restart the service
  --uninstall    stop and remove the service and the binaries; keep
                 $CONFIG_DIR and the state directory
  --purge        with --uninstall: also remove $CONFIG_DIR, the state
                 directory and the '$SERVICE_USER' user and group if
                 install.sh created them (an account that was there
                 before is kept)
  -h, --help     show this help

Environment:
  GO             the go command to build with (default: go on PATH, else
                 /usr/local/go/bin/go)

Exit status: 0 done; 1 failed; 2 bad usage or not root.
EOF
}

say() { printf '%s\n' "$*"; }
next() { printf '  %-40s # %s\n' "$1" "$2"; }
note() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
	printf 'install.sh: error: %s\n' "$*" >&2
	exit 1
}
usage_error() {
	printf 'install.sh: %s\nRun ./install.sh --help for usage.\n' "$*" >&2
	exit 2
}

UNINSTALL=0
PURGE=0
START=1
while [ $# -gt 0 ]; do
	case $1 in
	--prefix)
		[ $# -ge 2 ] || usage_error "--prefix needs a directory"
		PREFIX=$2
		shift 2
		;;
	--prefix=*)
		PREFIX=${1#--prefix=}
		shift
		;;
	--no-start)
		START=0
		shift
		;;
	--uninstall)
		UNINSTALL=1
		shift
		;;
	--purge)
		PURGE=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
done
case $PREFIX in
/*) ;;
*) usage_error "--prefix must be an absolute path, not '$PREFIX'" ;;
esac
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
	usage_error "--purge goes with --uninstall"
fi
if [ "$(id -u)" != 0 ]; then
	printf 'install.sh: must be run as root: sudo %s %s\n' "$0" "$ARGS" >&2
	exit 2
fi

BIN=$PREFIX/bin
OS=$(uname -s)
if [ "$OS" = Darwin ]; then
	# launchd runs chatd as root; members of group admin may use chatctl.
	STATE_DIR=/usr/local/var/chatd
	SOCKET=/var/run/chatd/admin.sock
	ADMIN_GROUP='admin'
	SERVICE_USER_FLAG=--user=
else
	STATE_DIR=/var/lib/chatd
	SOCKET=/run/chatd/admin.sock
	ADMIN_GROUP=$SERVICE_USER
	SERVICE_USER_FLAG=--user=$SERVICE_USER
fi

SRC=$(cd "$(dirname "$0")" && pwd)
TMP=
cleanup() { [ -z "$TMP" ] || rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- uninstall

uninstall() {
	remove_service
	removed=
	for b in $BINARIES; do
		if [ -e "$BIN/$b" ]; then
			rm -f "$BIN/$b"
			removed="$removed $BIN/$b"
		fi
	done
	if [ -n "$removed" ]; then
		say "removed$removed"
	else
		say "no chatd binaries in $BIN: nothing to remove there"
	fi
	if [ "$PURGE" = 1 ]; then
		purge
	else
		say "kept $CONFIG_DIR and $STATE_DIR (remove them with --uninstall --purge)"
	fi
}

# remove_service stops and removes the service where a service manager
# runs. Where none does (a container), there is no service to remove:
# chatd can only have run in the foreground, so stop that process.
remove_service() {
	if [ ! -x "$BIN/chatd" ]; then
		note "$BIN/chatd is not there; if a chatd service is still installed, remove it by hand"
		return 0
	fi
	if why=$("$BIN/chatd" service platform); then
		"$BIN/chatd" service uninstall "$SERVICE_USER_FLAG" || die "could not remove the service"
		return 0
	fi
	say "${why#none: }: no chatd service to remove"
	stop_foreground
}

# stop_foreground stops the chatd that serves the installed config's admin
# socket, waiting up to 10 seconds for it to drain and exit. chatd writes
# its PID into the lock file beside that socket and holds the file open
# for its whole life. Any other chatd, even one started from $BIN/chatd
# (another user's, a second instance), has another socket and is left
# alone.
stop_foreground() {
	socket=$("$BIN/chatd" config show --config "$CONFIG" admin.socket 2>/dev/null) || socket=$SOCKET
	lock=$socket.lock
	pid=
	[ ! -r "$lock" ] || pid=$(sed -n '1{/^[1-9][0-9]*$/p;}' "$lock")
	if [ -z "$pid" ] || ! holds_open "$pid" "$lock"; then
		say "no chatd is running on $socket: nothing to stop"
		return 0
	fi
	kill "$pid" 2>/dev/null || true # it may have exited meanwhile
	tries=0
	while kill -0 "$pid" 2>/dev/null; do
		tries=$((tries + 1))
		[ "$tries" -lt 50 ] || die "chatd (PID $pid) did not stop within 10 seconds"
		sleep 0.2
	done
	say "stopped chatd (PID $pid, admin socket $socket)"
}

# holds_open PID FILE: is process PID alive with FILE open? A lock file
# left behind by a chatd that was killed names a PID that any process may
# have by now; only the lock's holder keeps it open.
holds_open() {
	want=$(readlink -f "$2" 2>/dev/null) || return 1
	for fd in "/proc/$1/fd"/*; do
		[ "$(readlink "$fd" 2>/dev/null)" != "$want" ] || return 0
	done
	return 1
}

purge() {
	made=
	[ ! -r "$ACCOUNTS_MADE" ] || made=$(cat "$ACCOUNTS_MADE")
	gone=
	for d in "$CONFIG_DIR" "$STATE_DIR"; do
		if [ -e "$d" ]; then
			rm -rf "$d"
			gone="$gone $d"
		fi
	done
	kept=
	if [ "$OS" != Darwin ]; then
		made_user=0 made_group=0
		! printf '%s\n' "$made" | grep -qx "user $SERVICE_USER" || made_user=1
		! printf '%s\n' "$made" | grep -qx "group $SERVICE_USER" || made_group=1
		had_group=0
		! group_exists "$SERVICE_USER" || had_group=1
		if id "$SERVICE_USER" >/dev/null 2>&1; then
			# userdel also removes a group of the user's name: only
			# when that group is ours too.
			if [ "$made_user" = 1 ] && { [ "$made_group" = 1 ] || [ "$had_group" = 0 ]; }; then
				userdel "$SERVICE_USER" 2>/dev/null || deluser "$SERVICE_USER" >/dev/null ||
					die "could not remove user $SERVICE_USER"
				gone="$gone user:$SERVICE_USER"
			else
				kept="$kept user:$SERVICE_USER"
			fi
		fi
		if [ "$had_group" = 1 ]; then
			if [ "$made_group" = 0 ]; then
				kept="$kept group:$SERVICE_USER"
			else
				# userdel may have removed it with the user.
				if group_exists "$SERVICE_USER"; then
					groupdel "$SERVICE_USER" 2>/dev/null || delgroup "$SERVICE_USER" >/dev/null ||
						die "could not remove group $SERVICE_USER"
				fi
				gone="$gone group:$SERVICE_USER"
			fi
		fi
	fi
	if [ -n "$gone" ]; then
		say "purged$gone"
	elif [ -z "$kept" ]; then
		say "nothing to purge: no $CONFIG_DIR, $STATE_DIR or $SERVICE_USER account"
	fi
	[ -z "$kept" ] || say "kept$kept: install.sh did not create it (remove it yourself if nothing needs it)"
}

group_exists() {
	if command -v getent >/dev/null 2>&1; then
		getent group "$1" >/dev/null 2>&1
	else
		grep -q "^$1:" /etc/group
	fi
}

# -------------------------------------------------------------------- build

find_go() {
	if [ -n "${GO:-}" ]; then
		command -v "$GO" >/dev/null 2>&1 || die "GO=$GO is not a command"
		printf '%s\n' "$GO"
	elif command -v go >/dev/null 2>&1; then
		command -v go
	elif [ -x /usr/local/go/bin/go ]; then
		printf '%s\n' /usr/local/go/bin/go
	else
		die "Go is not installed (or not on PATH): install Go $(go_wanted) or newer from the Go website, or set GO=/path/to/go"
	fi
}

# go_wanted is the version go.mod asks for, like 1.26.0.
go_wanted() { sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$SRC/go.mod"; }

# version_ok HAVE WANT: is HAVE (1.26.8) at least WANT (1.26.0)?
version_ok() {
	awk -v have="$1" -v want="$2" 'BEGIN {
		n = split(have, h, "."); m = split(want, w, ".")
		for (i = 1; i <= 3; i++) {
			a = (i <= n) ? h[i] + 0 : 0; b = (i <= m) ? w[i] + 0 : 0
			if (a > b) exit 0
			if (a < b) exit 1
		}
		exit 0
	}'
}

# as_builder runs a command as the user who invoked sudo, if any, so that
# the build does not leave root-owned files in their Go cache.
as_builder() {
	if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && command -v sudo >/dev/null 2>&1; then
		sudo -u "$SUDO_USER" -H env PATH="$PATH" "$@"
	else
		"$@"
	fi
}

build() {
	if ! grep -q "^module $MODULE\$" "$SRC/go.mod" 2>/dev/null; then
		die "$SRC is not a chatd checkout (no go.mod for $MODULE)"
	fi
	go=$(find_go)
	have=$("$go" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p')
	want=$(go_wanted)
	[ -n "$have" ] || die "cannot tell the version of $go"
	version_ok "$have" "$want" || die "Go $have is too old: chatd needs Go $want or newer ($go)"
	# The same rule as make build and the packages (internal/version).
	version=$(cd "$SRC" && as_builder "$go" run ./internal/version/fromgit 2>/dev/null) || version=
	[ -n "$version" ] || version=dev
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/chatd-install.XXXXXX")
	chmod 0755 "$TMP"
	[ -z "${SUDO_USER:-}" ] || chown "$SUDO_USER" "$TMP" 2>/dev/null || true
	say "building chatd $version with Go $have ..."
	for b in $BINARIES; do
		case $b in
		chatd) pkg=./daemon ;;
		chatctl) pkg=./ctl ;;
		chat) pkg=./client ;;
		esac
		(cd "$SRC" && as_builder "$go" build -trimpath \
			-ldflags "-X $MODULE/internal/version.Version=$version" \
			-o "$TMP/$b" "$pkg") || die "go build $pkg failed"
	done
}

# ------------------------------------------------------------------ install

install_binaries() {
	mkdir -p "$BIN"
	for b in $BINARIES; do
		# Copy beside, then rename over: a running chatd keeps its old
		# binary and the new one appears at once.
		cp "$TMP/$b" "$BIN/.$b.new"
		chmod 0755 "$BIN/.$b.new"
		mv -f "$BIN/.$b.new" "$BIN/$b"
	done
	say "installed $BIN/chatd, $BIN/chatctl and $BIN/chat"
}

create_account() {
	[ "$OS" != Darwin ] || return 0
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	[ -x "$nologin" ] || nologin=/bin/false
	# What install.sh creates is noted, for --purge: it removes only
	# those, never an account that was there before.
	mkdir -p "$CONFIG_DIR"
	if ! group_exists "$SERVICE_USER"; then
		if command -v groupadd >/dev/null 2>&1; then
			groupadd --system "$SERVICE_USER"
		else
			addgroup -S "$SERVICE_USER"
		fi
		echo "group $SERVICE_USER" >>"$ACCOUNTS_MADE"
		say "created system group $SERVICE_USER"
	fi
	if ! id "$SERVICE_USER" >/dev/null 2>&1; then
		if command -v useradd >/dev/null 2>&1; then
			useradd --system --gid "$SERVICE_USER" --no-create-home \
				--home-dir /nonexistent --shell "$nologin" "$SERVICE_USER"
		else
			adduser -S -D -H -h /nonexistent -s "$nologin" -G "$SERVICE_USER" "$SERVICE_USER"
		fi
		echo "user $SERVICE_USER" >>"$ACCOUNTS_MADE"
		say "created system user $SERVICE_USER (no login shell, no home)"
	fi
}

# render_config writes the sample config with the service's paths and
# admin group set, and checks that chatd reads them back.
render_config() {
	out=$1
	sed -e "s|^# state_dir: .*|state_dir: \"$STATE_DIR\"|" \
		-e "s|^  # socket: .*|  socket: \"$SOCKET\"|" \
		-e "s|^  group: \"\"|  group: \"$ADMIN_GROUP\"|" \
		"$SRC/configs/chatd.yaml" >"$out"
	"$TMP/chatd" config show --config "$out" >/dev/null || die "the rendered sample config is invalid"
	for want in "state_dir=$STATE_DIR" "admin.socket=$SOCKET" "admin.group=$ADMIN_GROUP"; do
		[ "$("$TMP/chatd" config show --config "$out" "${want%%=*}")" = "${want#*=}" ] ||
			die "configs/chatd.yaml no longer has the lines install.sh edits (${want%%=*})"
	done
}

install_config() {
	mkdir -p "$CONFIG_DIR"
	chmod 0755 "$CONFIG_DIR"
	render_config "$TMP/chatd.yaml"
	# Readable by chatd's group (Linux) or the admin group (macOS): the
	# service reads it, and chatctl reads admin.socket from it.
	group=$ADMIN_GROUP
	if [ ! -e "$CONFIG" ]; then
		cp "$TMP/chatd.yaml" "$CONFIG"
		chown "root:$group" "$CONFIG"
		chmod 0640 "$CONFIG"
		say "installed $CONFIG"
	elif cmp -s "$TMP/chatd.yaml" "$CONFIG"; then
		rm -f "$CONFIG.new"
		say "kept $CONFIG (same as the new sample)"
	else
		cp "$TMP/chatd.yaml" "$CONFIG.new"
		chown "root:$group" "$CONFIG.new"
		chmod 0640 "$CONFIG.new"
		say "kept your $CONFIG; the new sample is beside it: $CONFIG.new"
	fi
	"$BIN/chatd" config check --config "$CONFIG" >/dev/null ||
		die "$CONFIG is not valid (see above); fix it and run install.sh again"
}

# wait_ready polls chatctl status until it answers, for up to 20 seconds.
wait_ready() {
	tries=0
	until "$BIN/chatctl" --config "$CONFIG" status >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -ge 100 ]; then
			"$BIN/chatctl" --config "$CONFIG" status >&2 || true
			die "chatd did not answer 'chatctl status' within 20 seconds"
		fi
		sleep 0.2
	done
}

install_service() {
	platform=$("$BIN/chatd" service platform) || {
		note "no service manager to install chatd under: ${platform#none: }"
		say "chatd is installed but not as a service. Run it in the foreground:"
		say "  sudo $BIN/chatd run --config $CONFIG"
		return 0
	}
	"$BIN/chatd" service install --replace --config "$CONFIG" "$SERVICE_USER_FLAG" >/dev/null ||
		die "chatd service install failed"
	say "installed the chatd service ($platform)"
	if [ "$START" = 0 ]; then
		say "not started (--no-start); start it with: $BIN/chatd service start"
		return 0
	fi
	if "$BIN/chatd" service status "$SERVICE_USER_FLAG" >/dev/null 2>&1; then
		"$BIN/chatd" service restart "$SERVICE_USER_FLAG" >/dev/null || die "could not restart the chatd service"
		say "restarted the chatd service"
	else
		"$BIN/chatd" service start "$SERVICE_USER_FLAG" >/dev/null || die "could not start the chatd service"
		say "started the chatd service"
	fi
	wait_ready
	# chatd itself says where it listens (one address a line), so the
	# summary follows the config's layout and an edited listen alike.
	listen=$("$BIN/chatd" config show --config "$CONFIG" listen) ||
		die "chatd config show --config $CONFIG listen failed"
	first=$(printf '%s\n' "$listen" | sed -n 1p)
	listen=$(printf '%s\n' "$listen" | awk 'NR > 1 { printf ", " } { printf "%s", $0 }')
	say ""
	if [ -n "$first" ]; then
		say "chatd is running ($platform) and answers on $listen."
	else
		say "chatd is running ($platform) with no plain listener (see tls.listen in $CONFIG)."
	fi
	say "  config: $CONFIG (after editing it: chatctl reload)"
	say "  state:  $STATE_DIR"
	say "  admin:  $SOCKET (root and group $ADMIN_GROUP)"
	say "Next:"
	[ -z "$first" ] || next "chat --addr $first" "talk to it"
	next "chatctl list" "the connected clients (root or group $ADMIN_GROUP)"
	if [ "$OS" != Darwin ]; then
		next "sudo usermod -aG $ADMIN_GROUP USER" "let USER run chatctl (from their next login)"
		next "journalctl -u chatd -f" "the service's log"
	else
		next "sudo dseditgroup -o edit -a USER -t user admin" "let USER run chatctl"
		next "tail -f /var/log/chatd.err.log" "the service's log"
	fi
}

if [ "$UNINSTALL" = 1 ]; then
	uninstall
	exit 0
fi
build
install_binaries
create_account
install_config
install_service
