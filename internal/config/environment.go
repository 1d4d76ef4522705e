package config

import (
	"strings"
)

// notKeys are the CHATD_* variables that are not configuration keys: chatd
// reads them for something else, or chatd's tests pass them through to a
// chatd or to themselves. They are never reported as misspelled keys. A
// test checks that every CHATD_* name in the repository is a key's or
// listed here.
var notKeys = map[string]string{
	// The restart in place hands its sockets to the new process.
	"CHATD_INHERIT_FDS":     "sockets handed over by a restart in place",
	"CHATD_INHERIT_FDNAMES": "sockets handed over by a restart in place",
	"CHATD_HANDOVER_FD":     "the hand-over a restart in place passes to the new image",
	"CHATD_PENDING_SIGNALS": "signals a restart in place caught for the new image to act on",
	// Benchmark and fault-injection builds.
	"CHATD_BENCH_PPROF":          "benchmarks: serve pprof on this address",
	"CHATD_BENCH_MEMPROFILERATE": "benchmarks: memory profile rate",
	"CHATD_FAULT_SLOW_ID_SAVE":   "fault-injection builds: slow client-ID saves",
	// Test switches, in the environment of the tests that start chatd.
	"CHATD_TEST_PACKAGES":           "tests: build the Debian package",
	"CHATD_SANDBOX":                 "make sandbox: a throwaway systemd with chatd to try",
	"CHATD_SURVIVAL_CLIENTS":        "tests: clients of the survival test",
	"CHATD_SCALE_CLIENTS":           "tests: clients of the scale benchmark",
	"CHATD_SCALE_CYCLES":            "tests: cycles of the scale benchmark",
	"CHATD_SCALE_ROUNDS":            "tests: rounds of the scale benchmark",
	"CHATD_SCALE_HOLDER":            "tests: the scale benchmark's connection holder",
	"CHATD_E2E_ADMIN_HELPER_SOCKET": "tests: the admin API helper's socket",
	"CHATD_TEST_HOOK":               "tests: a variable the re-exec test adds to the new image's environment",
	"CHATD_TEST_HUGE":               "tests: an environment string too large for execve",
}

// notKeyPrefixes are families of CHATD_* variables that are not keys:
// the hand-over between a process and the one it re-executes may add
// names of its own, which must never make a restart warn.
var notKeyPrefixes = []string{"CHATD_INHERIT_"}

// UnknownEnv reports every CHATD_* variable in environ ("NAME=value", as
// os.Environ gives them) that names no configuration key, with the
// nearest key's variable as a hint: viper would ignore it silently, so a
// misspelling (MAX_CLIENT for MAX_CLIENTS) would leave the default in force.
// `chatd config check` refuses the configuration for it; `chatd run`
// warns and goes on.
func UnknownEnv(environ []string) []*Error {
	var out []*Error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") || knownEnv(name) {
			continue
		}
		reason := "unknown variable (no configuration key is called that; see chatd config show for the keys)"
		if k := nearestEnv(strings.TrimPrefix(name, EnvPrefix+"_")); k != "" {
			reason = "unknown variable; did you mean " + envName(k) + " (" + k + ")?"
		}
		out = append(out, &Error{Source: "environment " + name, Reason: reason})
	}
	return out
}

func knownEnv(name string) bool {
	if _, ok := notKeys[name]; ok {
		return true
	}
	for _, p := range notKeyPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, k := range keys {
		if envName(k.name) == name {
			return true
		}
	}
	return false
}

// nearestEnv is nearest for the part of a variable's name after CHATD_:
// MAX_CLIENT is compared with max_clients, ADMIN_SOCKETT with admin_socket.
func nearestEnv(suffix string) string {
	return nearestBy(strings.ToLower(suffix), func(name string) string { return strings.ReplaceAll(name, ".", "_") })
}
