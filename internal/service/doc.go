// Package service installs, controls and runs chatd as an operating-system
// service through github.com/kardianos/service: a systemd unit on Linux
// (Type=notify, restarted one second after any exit, sandboxed), a launchd
// daemon on macOS, and whatever kardianos supports elsewhere (SysV,
// OpenRC, …) with its built-in scripts.
//
// The unit and the plist are chatd's own templates, handed to kardianos
// through its SystemdScript and LaunchdConfig options and rendered by its
// template engine (keys without a dot: {{Path}}, not {{.Path}}).
//
// Run is what `chatd run` uses in the foreground and under a service
// manager alike: it starts the program without blocking, turns SIGHUP into
// a reload and SIGINT/SIGTERM into a drain, and returns when the drain is
// done.
package service
