// Package integration holds chatd's tests against a real service manager:
// a throwaway systemd booted as PID 1 of fresh namespaces (root only), in
// which install.sh installs chatd as a service and the tests then chat,
// kick, kill -9, reload, upgrade and uninstall it. Every path the install
// writes is an overlay or tmpfs inside the sandbox, the sandbox has its own
// /dev, network and cgroup subtree, and the host is checked to be exactly
// as it was afterwards. The tests skip with a reason when not root or when
// namespaces are unavailable.
package integration
