package config

import (
	"strings"
	"text/tabwriter"
)

// EnvironmentHelp is the table of every key and its environment variable,
// for the help of the commands that read the configuration: one row a key
// reads better than some twenty variable names run together in one
// flag's line.
func EnvironmentHelp() string {
	var b strings.Builder
	b.WriteString("Environment: every key can be set as CHATD_ + the key in capitals, dots as\n" +
		"underscores. Flags beat the environment, which beats the config file.\n" +
		"'chatd config show' prints the value of each in force.\n\n")
	w := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	w.Write([]byte("  KEY\tVARIABLE\tFLAG\n"))
	for _, k := range keys {
		flag := ""
		if k.flag != "" {
			flag = "--" + k.flag
		}
		w.Write([]byte("  " + k.name + "\t" + envName(k.name) + "\t" + flag + "\n"))
	}
	w.Flush()
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
