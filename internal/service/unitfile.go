package service

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SystemdUnitFile returns the systemd unit `chatd service install` writes
// for o, for installing it by other means (the Debian and RPM packages
// ship it in /usr/lib/systemd/system). kardianos renders the unit at
// install time with an engine it does not export, so this renders the
// same template with the same values its systemd Install passes; a test
// holds the two byte for byte equal. It understands what the template
// uses: {{Key}}, {{Key | fn}}, {{if Key}}…{{else}}…{{end}},
// {{range Key}}…{{end}} and {{.}}, with the functions cmd and cmdEscape.
func SystemdUnitFile(o Options) (string, error) {
	cfg, err := o.kardianosConfig()
	if err != nil {
		return "", err
	}
	limit := ""
	if n, ok := cfg.Option["LimitNOFILE"].(int); ok && n > -1 {
		limit = strconv.Itoa(n)
	}
	restart, _ := cfg.Option["Restart"].(string)
	var env []string
	for _, k := range sortedKeys(cfg.EnvVars) {
		env = append(env, "Environment="+k+"="+cfg.EnvVars[k])
	}
	data := map[string]any{
		"Description":  cfg.Description,
		"Path":         cfg.Executable,
		"Name":         cfg.Name,
		"Dependencies": cfg.Dependencies,
		"Arguments":    cfg.Arguments,
		"UserName":     cfg.UserName,
		"LimitNOFILE":  limit,
		"Restart":      restart,
		"EnvVars":      env,
	}
	var b strings.Builder
	rest, end, err := execUnitTemplate(&b, systemdUnit(o), data, nil)
	if err != nil {
		return "", err
	}
	if end != "" || rest != "" {
		return "", fmt.Errorf("unit template: unexpected {{%s}}", end)
	}
	return b.String(), nil
}

var unitFuncs = map[string]func(string) string{
	"cmd":       func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` },
	"cmdEscape": func(s string) string { return strings.ReplaceAll(s, " ", `\x20`) },
}

// execUnitTemplate writes tmpl to b (nil b: skip) until an {{else}} or {{end}}
// that closes the caller's block, and returns the text after it and which
// one it was. dot is the current {{range}} element.
func execUnitTemplate(b *strings.Builder, tmpl string, data map[string]any, dot any) (rest, end string, err error) {
	write := func(s string) {
		if b != nil {
			b.WriteString(s)
		}
	}
	// A nil b skips a block that is not rendered: its actions are not
	// evaluated, as kardianos does not evaluate them.
	for {
		open := strings.Index(tmpl, "{{")
		if open < 0 {
			write(tmpl)
			return "", "", nil
		}
		closeAt := strings.Index(tmpl[open:], "}}")
		if closeAt < 0 {
			return "", "", fmt.Errorf(`unit template: unclosed "{{"`)
		}
		write(tmpl[:open])
		action := strings.TrimSpace(tmpl[open+2 : open+closeAt])
		tmpl = tmpl[open+closeAt+2:]
		kw, arg, _ := strings.Cut(action, " ")
		switch kw {
		case "end", "else":
			return tmpl, kw, nil
		case "if", "range":
			if b == nil { // skipping: only the structure matters
				if tmpl, end, err = execUnitTemplate(nil, tmpl, data, dot); err == nil && end == "else" {
					tmpl, end, err = execUnitTemplate(nil, tmpl, data, dot)
				}
				if err != nil || end != "end" {
					return "", "", orMissingEnd(err, kw)
				}
				continue
			}
			v, err := lookupValue(data, dot, strings.TrimSpace(arg))
			if err != nil {
				return "", "", err
			}
			if kw == "range" {
				items, ok := v.([]string)
				if !ok {
					return "", "", fmt.Errorf("unit template: %q is not a list", arg)
				}
				body := tmpl
				// Render the body once per item; with no items, skip it.
				for _, item := range items {
					if _, _, err = execUnitTemplate(b, body, data, item); err != nil {
						return "", "", err
					}
				}
				if tmpl, end, err = execUnitTemplate(nil, body, data, nil); err != nil || end != "end" {
					return "", "", orMissingEnd(err, "range")
				}
				continue
			}
			on := truthy(v)
			var sink *strings.Builder
			if on {
				sink = b
			}
			if tmpl, end, err = execUnitTemplate(sink, tmpl, data, dot); err != nil {
				return "", "", err
			}
			if end == "else" {
				sink = nil
				if !on {
					sink = b
				}
				if tmpl, end, err = execUnitTemplate(sink, tmpl, data, dot); err != nil {
					return "", "", err
				}
			}
			if end != "end" {
				return "", "", orMissingEnd(nil, "if")
			}
		default:
			if b == nil {
				continue
			}
			parts := strings.Split(action, "|")
			v, err := lookupValue(data, dot, strings.TrimSpace(parts[0]))
			if err != nil {
				return "", "", err
			}
			s, ok := v.(string)
			if !ok {
				return "", "", fmt.Errorf("unit template: %q is not a string", parts[0])
			}
			for _, fn := range parts[1:] {
				f, ok := unitFuncs[strings.TrimSpace(fn)]
				if !ok {
					return "", "", fmt.Errorf("unit template: unknown function %q", fn)
				}
				s = f(s)
			}
			write(s)
		}
	}
}

func orMissingEnd(err error, block string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("unit template: {{%s}} without {{end}}", block)
}

func lookupValue(data map[string]any, dot any, key string) (any, error) {
	if key == "." {
		return dot, nil
	}
	v, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("unit template: unknown key %q", key)
	}
	return v, nil
}

func truthy(v any) bool {
	switch t := v.(type) {
	case string:
		return t != ""
	case []string:
		return len(t) > 0
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
