package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/chatd/chatd/internal/paths"
	"github.com/chatd/chatd/internal/tlslisten"
)

// EnvPrefix prefixes every environment variable: admin.socket ↔ CHATD_ADMIN_SOCKET.
const EnvPrefix = "CHATD"

// searchedFiles is the default file search order (a variable for tests).
var searchedFiles = paths.ConfigFiles

// Load reads the configuration. fs may be nil; otherwise it is the flag set
// AddFlags populated, and changed flags override everything else.
func Load(fs *pflag.FlagSet) (*Config, error) { return loadOn(fs, true) }

// LoadForShow is Load without the checks that are about this machine
// rather than the config (the admin group exists here, the socket's
// directory can be made here): `chatd config show` displays a config that
// may be meant for another machine, such as the one a package installs
// before its postinst has created the group. Everything else is checked.
func LoadForShow(fs *pflag.FlagSet) (*Config, error) { return loadOn(fs, false) }

// hostChecks are the keys whose check is about this machine.
var hostChecks = map[string]bool{"admin.socket": true, "admin.group": true}

func loadOn(fs *pflag.FlagSet, onThisHost bool) (*Config, error) {
	v := newViper()
	setDefaults(v)
	file, skipped, err := readFile(v, flagValue(fs, "config"))
	if err != nil {
		return nil, err
	}
	src := sources{v: v, file: file, flags: fs}
	for _, k := range keys {
		if src.flagChanged(k) {
			// As text: viper's BindPFlag would turn "abc" for an int into 0.
			v.Set(k.name, fs.Lookup(k.flag).Value.String())
		}
	}
	return decodeCheckedOn(v, src, file, skipped, checkOptions{onThisHost: onThisHost})
}

// checkOptions say how a config is checked besides the form of its values.
type checkOptions struct {
	// onThisHost: with the checks about this machine (hostChecks).
	onThisHost bool
	// tls, if not nil, is the TLS material to check instead of reading
	// the files tls.* names (a kept config, see FromKept).
	tls *tlslisten.Material
	// ranBefore: a config a chatd already ran on (kept or handed over).
	// A key refused only because it does nothing is let through then: a
	// newer chatd that refuses such keys must not find the last good
	// config unusable after an upgrade, which would make the upgrade an
	// outage.
	ranBefore bool
}

// decodeCheckedOn decodes and checks what v has read, as Load does.
func decodeCheckedOn(v *viper.Viper, src sources, file string, skipped []string, opts checkOptions) (*Config, error) {
	if err := checkKeys(v, src); err != nil {
		return nil, err
	}
	if strings.HasPrefix(src.of("admin.mode"), "file ") {
		if text := modeAsWritten(file); text != "" {
			v.Set("admin.mode", text)
		}
	}
	cfg := &Config{}
	if err := v.UnmarshalExact(cfg, decodeOptions); err != nil {
		return nil, src.decodeError(err)
	}
	for _, k := range keys {
		if k.check == nil || !opts.onThisHost && hostChecks[k.name] {
			continue
		}
		val := field(cfg, k.name).Interface()
		if err := k.check(val); err != nil {
			return nil, &Error{Key: k.name, Value: fmt.Sprint(val), Source: src.of(k.name), Reason: err.Error()}
		}
	}
	if err := checkTogether(cfg, src, opts); err != nil {
		return nil, err
	}
	cfg.File = file
	cfg.Origin = src.origin(skipped)
	return cfg, nil
}

func newViper() *viper.Viper {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetConfigType("yaml")
	return v
}

// setDefaults registers every key with its default. Every key needs one:
// viper's AutomaticEnv only sees variables for keys it already knows.
func setDefaults(v *viper.Viper) {
	d := Defaults()
	for _, k := range keys {
		v.SetDefault(k.name, field(&d, k.name).Interface())
	}
}

func flagValue(fs *pflag.FlagSet, name string) string {
	if fs == nil {
		return ""
	}
	if f := fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// readFile reads the explicit file, or else the first default file that
// exists and can be read. A default file this user may not read (the
// system file, for a user with a file of their own) is passed over and
// named in skipped; it is an error only when no file after it can be read.
func readFile(v *viper.Viper, explicit string) (used string, skipped []string, err error) {
	if explicit != "" {
		return explicit, nil, read(v, explicit)
	}
	for _, f := range searchedFiles() {
		err := read(v, f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, fs.ErrPermission):
			skipped = append(skipped, f)
			continue
		case err != nil:
			return "", nil, err
		}
		return f, skipped, nil
	}
	if len(skipped) > 0 {
		return "", nil, &Error{Source: "file " + skipped[0],
			Reason: "permission denied, and no later config file can be read (give one with --config)"}
	}
	return "", nil, nil
}

// read reads one YAML file into v. A missing or unreadable file is an
// *Error that still matches fs.ErrNotExist or fs.ErrPermission.
func read(v *viper.Viper, file string) error {
	v.SetConfigFile(file)
	err := v.ReadInConfig()
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		switch {
		case errors.Is(pe.Err, fs.ErrNotExist):
			reason = "no such file"
		case errors.Is(pe.Err, fs.ErrPermission):
			reason = "permission denied"
		}
		return &Error{Source: "file " + file, Reason: reason, err: pe.Err}
	}
	var parse viper.ConfigParseError
	if errors.As(err, &parse) && parse.Unwrap() != nil {
		err = parse.Unwrap() // without viper's "While parsing config:"
	}
	return &Error{Source: "file " + file, Reason: "not valid YAML: " + strings.TrimPrefix(oneLine(err.Error()), "yaml: ")}
}

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

func (s sources) flagChanged(k key) bool {
	if s.flags == nil || k.flag == "" {
		return false
	}
	f := s.flags.Lookup(k.flag)
	return f != nil && f.Changed
}

func (s sources) of(name string) string {
	for _, k := range keys {
		if k.name == name && s.flagChanged(k) {
			return "flag --" + k.flag
		}
	}
	if env := envName(name); os.Getenv(env) != "" {
		return "environment " + env
	}
	if s.file != "" && s.v.InConfig(name) {
		return "file " + s.file
	}
	return "defaults"
}

// origin says which sources set something: the file, the CHATD_*
// variables and the flags in force.
func (s sources) origin(skipped []string) string {
	var parts, env, flags []string
	if s.file != "" {
		parts = append(parts, "file "+s.file)
	}
	for _, k := range keys {
		if e := envName(k.name); os.Getenv(e) != "" {
			env = append(env, e)
		}
		if s.flagChanged(k) {
			flags = append(flags, "--"+k.flag)
		}
	}
	if len(env) > 0 {
		parts = append(parts, "environment "+strings.Join(env, ", "))
	}
	if len(flags) > 0 {
		parts = append(parts, "flags "+strings.Join(flags, ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, "built-in defaults (no config file found)")
	} else {
		parts[len(parts)-1] += " over built-in defaults"
	}
	out := strings.Join(parts, ", ")
	if len(skipped) > 0 {
		out += " (skipped unreadable " + strings.Join(skipped, ", ") + ")"
	}
	return out
}

// decodeError turns the decoder's error into an *Error naming the key.
func (s sources) decodeError(err error) error {
	var de *mapstructure.DecodeError
	if !errors.As(err, &de) {
		return &Error{Source: "values", Reason: oneLine(err.Error())}
	}
	reason := oneLine(err.Error())
	if inner := de.Unwrap(); inner != nil {
		reason = oneLine(inner.Error())
	}
	return &Error{Key: de.Name(), Value: fmt.Sprint(s.v.Get(de.Name())), Source: s.of(de.Name()), Reason: reason}
}

// checkKeys rejects keys the file sets that chatd does not know, with the
// nearest known key as a hint.
func checkKeys(v *viper.Viper, src sources) error {
	for _, name := range v.AllKeys() {
		if known(name) {
			continue
		}
		bad := &Error{Key: name, Value: fmt.Sprint(v.Get(name)), Source: src.of(name)}
		switch {
		case isSection(name):
			bad.Reason = "must be a section of keys, not a single value"
		case nearest(name) != "":
			bad.Reason = "unknown key; did you mean " + nearest(name) + "?"
		default:
			bad.Reason = "unknown key (see configs/chatd.yaml or chatd config show for the keys)"
		}
		return bad
	}
	return nil
}

func known(name string) bool {
	for _, k := range keys {
		if k.name == name {
			return true
		}
	}
	return false
}

func isSection(name string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k.name, name+".") {
			return true
		}
	}
	return false
}
