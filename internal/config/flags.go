package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// AddFlags defines --config and the config-overriding flags on fs. Each
// flag's help names its key, its environment variable and its default;
// EnvironmentHelp lists the variables of every key.
// Flag values are kept as text and decoded with the rest of the
// configuration, so that "--max-clients abc" is refused like
// "max_clients: abc" in the file: one line naming key, value and source.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "config file (default: the first readable of "+strings.Join(searchedFiles(), ", ")+"; none: built-in defaults)")
	d := Defaults()
	for _, k := range keys {
		if k.flag == "" {
			continue // EnvironmentHelp lists its variable
		}
		def := field(&d, k.name).Interface()
		f := fs.VarPF(&textFlag{kind: kindOf(def)}, k.flag, "",
			fmt.Sprintf("%s (config %s, env %s)", k.usage, k.name, envName(k.name)))
		f.DefValue = fmt.Sprint(def)
		if list, ok := def.([]string); ok {
			f.DefValue = strings.Join(list, ",")
		}
	}
}

// textFlag holds a flag's text until Load decodes it.
type textFlag struct {
	text string
	kind string
}

func (f *textFlag) String() string     { return f.text }
func (f *textFlag) Set(s string) error { f.text = s; return nil }
func (f *textFlag) Type() string       { return f.kind }

// kindOf names a value's type for --help ("--max-clients int").
func kindOf(v any) string {
	switch v.(type) {
	case time.Duration:
		return "duration"
	case []string:
		return "string" // one comma-separated string
	}
	return reflect.TypeOf(v).Kind().String()
}
