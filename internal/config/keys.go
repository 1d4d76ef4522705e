package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/viper"

	"github.com/chatd/chatd/internal/paths"
)

func defaultFiles() []string { return paths.ConfigFiles() }

// flatten lists every leaf of cfg as key → value, with keys taken from the
// mapstructure tags: the single source of the key list.
func flatten(cfg Config) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			key := prefix + tag
			if f := v.Field(i); f.Kind() == reflect.Struct {
				walk(key+".", f)
			} else {
				out[key] = f.Interface()
			}
		}
	}
	walk("", reflect.ValueOf(cfg))
	return out
}

// knownKeys is every config key, sorted.
func knownKeys() []string {
	keys := make([]string, 0, 16)
	for k := range flatten(Config{}) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setDefaults registers every key with its default. Every key needs one:
// viper's AutomaticEnv only sees variables for keys it already knows.
func setDefaults(v *viper.Viper) {
	for k, val := range flatten(Defaults()) {
		v.SetDefault(k, val)
	}
}

// decode reads every key into a Config, converting each value to its
// type and naming the key when that fails.
func decode(v *viper.Viper, src sources) (*Config, error) {
	cfg := &Config{}
	root := reflect.ValueOf(cfg).Elem()
	var walk func(prefix string, s reflect.Value) error
	walk = func(prefix string, s reflect.Value) error {
		t := s.Type()
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			key := prefix + tag
			f := s.Field(i)
			if f.Kind() == reflect.Struct {
				if err := walk(key+".", f); err != nil {
					return err
				}
				continue
			}
			raw := v.Get(key)
			bad := func(reason string) error {
				return &Error{Key: key, Value: fmt.Sprint(raw), Source: src.of(key), Reason: reason}
			}
			switch f.Interface().(type) {
			case time.Duration:
				d, err := toDuration(raw)
				if err != nil {
					return bad(err.Error())
				}
				f.SetInt(int64(d))
			case int:
				n, err := cast.ToIntE(raw)
				if err != nil || isFloat(raw) {
					return bad("must be a whole number")
				}
				f.SetInt(int64(n))
			case string:
				if n, ok := raw.(int); ok && key == "admin.mode" {
					// YAML reads an unquoted 0660 as the octal number it is.
					raw = fmt.Sprintf("0%o", n)
				}
				switch raw.(type) {
				case string, int, int64, uint64, float64, bool:
					f.SetString(cast.ToString(raw))
				default:
					return bad("must be a single value, not a list or section")
				}
			}
		}
		return nil
	}
	if err := walk("", root); err != nil {
		return nil, err
	}
	return cfg, nil
}

func isFloat(v any) bool {
	switch x := v.(type) {
	case float64, float32:
		return true
	case string:
		return strings.ContainsAny(x, ".eE") && !strings.HasPrefix(x, "0x")
	}
	return false
}

// toDuration accepts Go durations ("30s", "1m30s") and 0. A bare number
// other than 0 is refused: "30" would silently mean 30 nanoseconds.
func toDuration(raw any) (time.Duration, error) {
	switch x := raw.(type) {
	case time.Duration:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		if s == "0" {
			return 0, nil
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("needs a unit, like %ss", s)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("must be a duration like 30s, 500ms or 1m")
		}
		return d, nil
	case int, int64, uint64, float64:
		if cast.ToFloat64(x) == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("needs a unit, like %vs", x)
	}
	return 0, fmt.Errorf("must be a duration like 30s, 500ms or 1m")
}
