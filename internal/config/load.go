package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment variable: admin.socket ↔ CHATD_ADMIN_SOCKET.
const EnvPrefix = "CHATD"

// flagKeys maps the command-line flags AddFlags defines to config keys.
var flagKeys = map[string]string{
	"listen":       "listen",
	"max-clients":  "max_clients",
	"admin-socket": "admin.socket",
	"state-dir":    "state_dir",
	"log-level":    "log.level",
	"log-format":   "log.format",
}

// AddFlags defines the config-overriding flags (and --config) on fs.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "config file (default: "+strings.Join(searchedFiles(), ", then ")+", if present)")
	fs.String("listen", "", "chat listen address HOST:PORT (config: listen)")
	fs.Int("max-clients", 0, "maximum concurrent clients (config: max_clients)")
	fs.String("admin-socket", "", "admin API Unix socket path (config: admin.socket)")
	fs.String("state-dir", "", "directory for persistent state (config: state_dir)")
	fs.String("log-level", "", "debug, info, warn or error (config: log.level)")
	fs.String("log-format", "", "text or json (config: log.format)")
}

// Load reads the configuration. fs may be nil; otherwise it is the flag set
// AddFlags populated, and changed flags override everything else.
func Load(fs *pflag.FlagSet) (*Config, error) {
	file := ""
	if fs != nil {
		if f := fs.Lookup("config"); f != nil {
			file = f.Value.String()
		}
	}
	v := viper.New()
	setDefaults(v)
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	used, err := readFile(v, file)
	if err != nil {
		return nil, err
	}
	if fs != nil {
		for name, key := range flagKeys {
			if f := fs.Lookup(name); f != nil && f.Changed {
				if err := v.BindPFlag(key, f); err != nil {
					return nil, fmt.Errorf("bind flag --%s: %w", name, err)
				}
			}
		}
	}
	src := sources{v: v, file: used, flags: fs}
	if err := checkKeys(v, src); err != nil {
		return nil, err
	}
	cfg, err := decode(v, src)
	if err != nil {
		return nil, err
	}
	cfg.File = used
	if err := cfg.validate(src); err != nil {
		return nil, err
	}
	return cfg, nil
}

// readFile reads the explicit file, or the first default file present. It
// returns the file used ("" for none).
func readFile(v *viper.Viper, explicit string) (string, error) {
	candidates := searchedFiles()
	if explicit != "" {
		candidates = []string{explicit}
	}
	for _, f := range candidates {
		if explicit == "" {
			if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		v.SetConfigFile(f)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return "", &Error{Source: "file " + f, Reason: friendlyPathError(pe)}
			}
			return "", &Error{Source: "file " + f, Reason: "not valid YAML: " + oneLine(err.Error())}
		}
		return f, nil
	}
	return "", nil
}

func friendlyPathError(pe *fs.PathError) string {
	switch {
	case errors.Is(pe.Err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(pe.Err, fs.ErrPermission):
		return "permission denied"
	}
	return pe.Err.Error()
}

// searchedFiles is the default file search order.
var searchedFiles = defaultFiles

// oneLine squeezes a multi-line library error into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sources tells where a key's value came from, for error messages.
type sources struct {
	v     *viper.Viper
	file  string
	flags *pflag.FlagSet
}

func (s sources) of(key string) string {
	if s.flags != nil {
		for name, k := range flagKeys {
			if k == key {
				if f := s.flags.Lookup(name); f != nil && f.Changed {
					return "flag --" + name
				}
			}
		}
	}
	env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
	if _, ok := os.LookupEnv(env); ok {
		return "environment " + env
	}
	if s.file != "" && s.v.InConfig(key) {
		return "file " + s.file
	}
	return "defaults"
}

// checkKeys rejects keys the file sets that chatd does not know.
func checkKeys(v *viper.Viper, src sources) error {
	known := knownKeys()
	for _, k := range v.AllKeys() {
		if slices.Contains(known, k) {
			continue
		}
		where := "file " + src.file
		for _, section := range []string{"notices", "admin", "log"} {
			if k == section {
				return &Error{Key: k, Value: fmt.Sprint(v.Get(k)), Source: where, Reason: "must be a section of keys, not a single value"}
			}
		}
		return &Error{Key: k, Value: fmt.Sprint(v.Get(k)), Source: where, Reason: "unknown key (known keys: " + strings.Join(known, ", ") + ")"}
	}
	return nil
}
