package service

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// kardianos v1.3.0 renders service files with its own engine: keys have no
// dot and only the keys and functions its platform code passes exist. A
// template using anything else fails at install time, on the user's
// machine; these lists (from its systemd and launchd Install) catch that
// here, on any OS.
var (
	systemdKeys  = []string{"Description", "Path", "Name", "Dependencies", "Arguments", "ChRoot", "WorkingDirectory", "UserName", "ReloadSignal", "PIDFile", "LogDirectory", "OutputFileSupport", "LimitNOFILE", "Restart", "SuccessExitStatus", "EnvVars"}
	systemdFuncs = []string{"cmd", "cmdEscape"}
	launchdKeys  = []string{"Name", "Path", "Arguments", "ChRoot", "UserName", "WorkingDirectory", "KeepAlive", "RunAtLoad", "SessionCreate", "StandardOutPath", "StandardErrorPath", "EnvVars"}
	launchdFuncs = []string{"html"}
)

var action = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)

// checkActions returns the problems with a template's actions.
func checkActions(tmpl string, keys, funcs []string) []string {
	var problems []string
	for _, m := range action.FindAllStringSubmatch(tmpl, -1) {
		parts := strings.Split(m[1], "|")
		head := strings.Fields(strings.TrimSpace(parts[0]))
		switch {
		case len(head) == 1 && (head[0] == "end" || head[0] == "else" || head[0] == "."):
		case len(head) == 2 && (head[0] == "if" || head[0] == "range"):
			if !slices.Contains(keys, head[1]) {
				problems = append(problems, "unknown key in "+m[0])
			}
		case len(head) == 1:
			if strings.HasPrefix(head[0], ".") || !slices.Contains(keys, head[0]) {
				problems = append(problems, "unknown key in "+m[0])
			}
		default:
			problems = append(problems, "unsupported action "+m[0])
		}
		for _, fn := range parts[1:] {
			if !slices.Contains(funcs, strings.TrimSpace(fn)) {
				problems = append(problems, "unknown function in "+m[0])
			}
		}
	}
	return problems
}

func TestTemplatesUseOnlyWhatKardianosProvides(t *testing.T) {
	for _, low := range []bool{false, true} {
		unit := systemdUnit(Options{Group: "chatd", BindLowPort: low})
		if p := checkActions(unit, systemdKeys, systemdFuncs); len(p) > 0 {
			t.Errorf("systemd unit: %v", p)
		}
		if strings.Contains(unit, "@GROUP@") || strings.Contains(unit, "@CAPABILITIES@") {
			t.Errorf("systemd unit has an unreplaced placeholder:\n%s", unit)
		}
	}
	if p := checkActions(launchdPlist, launchdKeys, launchdFuncs); len(p) > 0 {
		t.Errorf("launchd plist: %v", p)
	}
	if p := checkActions("{{.Path}} {{Path | quote}} {{if eq Name}}", systemdKeys, systemdFuncs); len(p) != 3 {
		t.Errorf("the checker missed old-style actions: %v", p)
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Executable: "/usr/local/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", Group: "chatd"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"relative exe":    {Executable: "chatd", ConfigFile: "/etc/c.yaml"},
		"relative config": {Executable: "/bin/chatd", ConfigFile: "c.yaml"},
		"bad user":        {Executable: "/bin/chatd", ConfigFile: "/c.yaml", User: "chat d\nExecStartPre=/bin/evil"},
		"bad group":       {Executable: "/bin/chatd", ConfigFile: "/c.yaml", Group: "Root;"},
		"relative logs":   {Executable: "/bin/chatd", ConfigFile: "/c.yaml", LogDir: "logs"},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
	}
}
