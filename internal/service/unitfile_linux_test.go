package service

import (
	"strings"
	"testing"
)

// The packages ship SystemdUnitFile's text; `chatd service install` has
// kardianos render the template. They must be the same unit.
func TestSystemdUnitFileIsWhatKardianosRenders(t *testing.T) {
	for name, o := range map[string]Options{
		"packaged":                 {Executable: "/usr/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", Group: "chatd"},
		"install.sh":               {Executable: "/usr/local/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", Group: "chatd"},
		"root, low port, odd path": {Executable: "/opt/chat d/chatd", ConfigFile: `/etc/"q"/c.yaml`, BindLowPort: true},
		"many clients":             {Executable: "/usr/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", MaxClients: 60000},
		"survival off":             {Executable: "/usr/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", NoSurvival: true},
	} {
		t.Run(name, func(t *testing.T) {
			want := renderUnit(t, o)
			got, err := SystemdUnitFile(o)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("SystemdUnitFile differs from kardianos' rendering:\n--- kardianos\n%s\n--- SystemdUnitFile\n%s", want, got)
			}
		})
	}
}

func TestSystemdUnitFilePackagedPaths(t *testing.T) {
	unit, err := SystemdUnitFile(Options{Executable: "/usr/bin/chatd", ConfigFile: "/etc/chatd/chatd.yaml", User: "chatd", Group: "chatd"})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"ConditionFileIsExecutable=/usr/bin/chatd",
		`ExecStart=/usr/bin/chatd "run" "--config" "/etc/chatd/chatd.yaml"`,
		"User=chatd", "Group=chatd",
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit lacks %q:\n%s", line, unit)
		}
	}
	verifyUnit(t, strings.ReplaceAll(unit, "/usr/bin/chatd", "/usr/local/bin/chatd"))
}

// The engine's forms beyond what the unit uses today, so that a change to
// the template cannot silently render differently from kardianos.
func TestExecUnitTemplate(t *testing.T) {
	data := map[string]any{"A": "x y", "E": "", "L": []string{"1", "2"}, "N": []string(nil)}
	for _, c := range []struct{ tmpl, want string }{
		{"{{A}}|{{A | cmdEscape}}|{{A | cmd}}", `x y|x\x20y|"x y"`},
		{"{{if A}}yes{{else}}no{{end}}{{if E}}yes{{else}}no{{end}}", "yesno"},
		{"{{range L}}<{{.}}>{{end}}{{range N}}never{{end}}.", "<1><2>."},
		{"{{if L}}{{range L}}{{if A}}{{. | cmd}}{{end}}{{end}}{{end}}", `"1""2"`},
		{"{{if E}}{{range L}}{{.}}{{end}}{{else}}{{range L}}-{{.}}{{end}}{{end}}", "-1-2"},
	} {
		var b strings.Builder
		rest, end, err := execUnitTemplate(&b, c.tmpl, data, nil)
		if err != nil || rest != "" || end != "" || b.String() != c.want {
			t.Errorf("%s: got %q (rest %q, end %q, err %v), want %q", c.tmpl, b.String(), rest, end, err, c.want)
		}
	}
	for _, bad := range []string{"{{Missing}}", "{{if A}}open", "{{range A}}x{{end}}", "{{L}}", "{{A | nope}}", "{{A"} {
		var b strings.Builder
		_, end, err := execUnitTemplate(&b, bad, data, nil)
		if err == nil && end == "" {
			t.Errorf("%q rendered without an error", bad)
		}
	}
}
