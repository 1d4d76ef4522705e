package service

import (
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
)

// renderLike substitutes template data the way kardianos' engine does for
// the forms the plist uses: {{Key}}, {{Key | html}}, {{if Key}}…{{end}}
// and {{range Key}}…{{. | html}}…{{end}} (kardianos' launchd code is not
// compiled on Linux, so its renderer cannot be called here).
func renderLike(t *testing.T, tmpl string, data map[string]any) string {
	t.Helper()
	esc := strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")
	// Innermost first: a range holds no block; an if may hold a range.
	out := tmpl
	for _, kind := range []string{"range", "if"} {
		block := regexp.MustCompile(`(?s)\{\{` + kind + ` (\w+)\}\}(.*?)\{\{end\}\}`)
		out = block.ReplaceAllStringFunc(out, func(m string) string {
			p := block.FindStringSubmatch(m)
			v := data[p[1]]
			list, _ := v.([]string)
			if kind == "range" {
				var b strings.Builder
				for _, item := range list {
					s := strings.ReplaceAll(p[2], "{{. | html}}", esc.Replace(item))
					b.WriteString(strings.ReplaceAll(s, "{{.}}", item))
				}
				return b.String()
			}
			if s, _ := v.(string); s != "" || len(list) > 0 {
				return p[2]
			}
			return ""
		})
	}
	value := regexp.MustCompile(`\{\{(\w+)( \| html)?\}\}`)
	out = value.ReplaceAllStringFunc(out, func(m string) string {
		p := value.FindStringSubmatch(m)
		s, ok := data[p[1]].(string)
		if !ok {
			t.Fatalf("template uses %s, which is not a string", p[1])
		}
		if p[2] != "" {
			return esc.Replace(s)
		}
		return s
	})
	if strings.Contains(out, "{{") {
		t.Fatalf("unrendered action left:\n%s", out)
	}
	return out
}

// plistDict reads the top-level dict of a plist into key → raw value.
func plistDict(t *testing.T, doc string) map[string]string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	out := map[string]string{}
	depth, key := 0, ""
	var values []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, doc)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 && x.Name.Local != "key" && key != "" {
				if x.Name.Local == "true" || x.Name.Local == "false" {
					out[key] = x.Name.Local
				}
			}
		case xml.EndElement:
			if depth == 3 && x.Name.Local != "key" && key != "" && out[key] == "" {
				out[key] = strings.Join(values, "|")
			}
			depth--
			if depth == 2 && x.Name.Local != "key" {
				key, values = "", nil
			}
		case xml.CharData:
			s := strings.TrimSpace(string(x))
			if s == "" {
				continue
			}
			if depth == 3 && key == "" {
				key = s
			} else if depth >= 3 {
				values = append(values, s)
			}
		}
	}
	return out
}

func TestLaunchdPlist(t *testing.T) {
	o := Options{Executable: "/usr/local/bin/chatd", ConfigFile: "/etc/chatd/chat&d.yaml"}
	cfg, err := o.kardianosConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Option["RunAtLoad"] != true || cfg.Option["KeepAlive"] != true {
		t.Fatalf("options %v", cfg.Option)
	}
	// The data kardianos' darwin Install builds from cfg.
	doc := renderLike(t, cfg.Option["LaunchdConfig"].(string), map[string]any{
		"Name": cfg.Name, "Path": cfg.Executable, "Arguments": cfg.Arguments,
		"UserName": cfg.UserName, "KeepAlive": "true", "RunAtLoad": "true",
		"StandardOutPath": "/var/log/chatd.out.log", "StandardErrorPath": "/var/log/chatd.err.log",
		"EnvVars": []string(nil),
	})
	d := plistDict(t, doc)
	want := map[string]string{
		"Label":             "chatd",
		"ProgramArguments":  "/usr/local/bin/chatd|run|--config|/etc/chatd/chat&d.yaml",
		"RunAtLoad":         "true",
		"KeepAlive":         "true",
		"ThrottleInterval":  "1",
		"StandardOutPath":   "/var/log/chatd.out.log",
		"StandardErrorPath": "/var/log/chatd.err.log",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %q, want %q", k, d[k], v)
		}
	}
	if _, ok := d["UserName"]; ok {
		t.Errorf("UserName set for a root daemon")
	}

	o.User = "_chatd"
	cfg, _ = o.kardianosConfig()
	doc = renderLike(t, launchdPlist, map[string]any{
		"Name": cfg.Name, "Path": cfg.Executable, "Arguments": cfg.Arguments,
		"UserName": cfg.UserName, "KeepAlive": "true", "RunAtLoad": "true",
		"StandardOutPath": "/o", "StandardErrorPath": "/e",
		"EnvVars": []string{"\t\t<key>A</key>\n\t\t<string>b</string>"},
	})
	d = plistDict(t, doc)
	if d["UserName"] != "_chatd" || d["EnvironmentVariables"] != "A|b" {
		t.Errorf("UserName %q, EnvironmentVariables %q", d["UserName"], d["EnvironmentVariables"])
	}
}
