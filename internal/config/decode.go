package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"
)

// decodeHook converts each raw value (YAML scalars, strings from the
// environment and flags, the defaults) to its field's type more strictly
// than viper's default weak typing: no 1.5 clients, no "30" that would mean
// 30 nanoseconds, no list where one value belongs.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	if data == nil {
		return data, nil
	}
	switch {
	case to == reflect.TypeFor[time.Duration]():
		return toDuration(data)
	case to == reflect.TypeFor[Mode]():
		return decodeMode(data)
	case to.Kind() == reflect.Int:
		return toInt(data)
	case to.Kind() == reflect.Slice && from.Kind() == reflect.String:
		return toList(data.(string)), nil
	case to.Kind() == reflect.String:
		switch from.Kind() {
		case reflect.Map, reflect.Slice, reflect.Array:
			return nil, errors.New("must be a single value, not a list or section")
		}
	case to.Kind() == reflect.Struct && from.Kind() != reflect.Map:
		return nil, errors.New("must be a section of keys, not a single value")
	}
	return data, nil
}

// toList reads a list given as one string (an environment variable, a
// flag, or a single value in the file): comma-separated, blanks dropped.
// "" is the empty list.
func toList(s string) []string {
	list := []string{}
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			list = append(list, part)
		}
	}
	return list
}

func toInt(data any) (int, error) {
	switch x := data.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		return int(x), nil
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, nil
		}
	}
	return 0, errors.New("must be a whole number")
}

// toDuration accepts Go durations ("30s", "1m30s") and 0. A bare number
// other than 0 is refused: "30" would silently mean 30 nanoseconds.
func toDuration(data any) (time.Duration, error) {
	switch x := data.(type) {
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
		if d, err := time.ParseDuration(s); err == nil {
			return d, nil
		}
	case int, int64, uint64, float64:
		if fmt.Sprint(x) == "0" {
			return 0, nil
		}
		return 0, fmt.Errorf("needs a unit, like %vs", x)
	}
	return 0, errors.New("must be a duration like 30s, 500ms or 1m")
}

// decodeMode reads a file mode as the octal digits written, as chmod does:
// 660, 0660 and 0o660 all mean rw-rw----. YAML reads an unquoted 0660 as
// the number 432 and 660 as six hundred and sixty, so a mode from the file
// arrives here as the text written (see modeAsWritten).
func decodeMode(data any) (Mode, error) {
	s := strings.TrimPrefix(strings.TrimSpace(fmt.Sprint(data)), "0o")
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || s == "" || m > 0o777 {
		return "", errors.New("must be an octal file mode from 000 to 777, like 0660")
	}
	return Mode(fmt.Sprintf("0%03o", m)), nil
}

// modeAsWritten is the text of admin.mode as written in the YAML file, or
// "" if the file does not set it. viper hands over YAML's reading of the
// scalar, which for an unquoted mode is a number that no longer says which
// digits were written.
func modeAsWritten(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	n := doc.Content[0]
	for _, name := range []string{"admin", "mode"} {
		n = child(n, name)
		if n == nil {
			return ""
		}
	}
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// child is the value of a mapping node's key, matched as viper matches
// keys: ignoring case.
func child(n *yaml.Node, name string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if strings.EqualFold(n.Content[i].Value, name) {
			return n.Content[i+1]
		}
	}
	return nil
}

// decodeOptions sets the decoder to decodeHook; viper's UnmarshalExact
// adds the refusal of keys Config has no field for.
func decodeOptions(c *mapstructure.DecoderConfig) {
	c.DecodeHook = mapstructure.DecodeHookFuncType(decodeHook)
	c.WeaklyTypedInput = true // numbers and booleans may be strings (greeting: 42)
}
