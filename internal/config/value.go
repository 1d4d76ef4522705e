package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Value is the effective value of one key (admin.socket, listen), each
// item of a list on a line of its own: what `chatd config show KEY`
// prints, so that a script reads a setting from chatd itself rather than
// by matching the YAML, whose layout is chatd's to change. A duration is
// written as in the file (30s). An unknown key or a section is an error
// that names the keys meant.
func (c *Config) Value(name string) ([]string, error) {
	if !known(name) {
		switch {
		case isSection(name):
			return nil, fmt.Errorf("%s is a section; give one of its keys: %s", name, strings.Join(sectionKeys(name), ", "))
		case nearest(name) != "":
			return nil, fmt.Errorf("%s: unknown key; did you mean %s?", name, nearest(name))
		}
		return nil, fmt.Errorf("%s: unknown key (chatd config show lists them)", name)
	}
	v := field(c, name)
	if v.Kind() == reflect.Slice {
		lines := make([]string, v.Len())
		for i := range lines {
			lines[i] = scalar(v.Index(i))
		}
		return lines, nil
	}
	return []string{scalar(v)}, nil
}

func scalar(v reflect.Value) string {
	if d, ok := v.Interface().(time.Duration); ok {
		return d.String()
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.String:
		return v.String()
	}
	return fmt.Sprint(v.Interface())
}

// sectionKeys are the keys inside a section (admin → admin.socket, …).
func sectionKeys(section string) []string {
	var names []string
	for _, k := range keys {
		if strings.HasPrefix(k.name, section+".") {
			names = append(names, k.name)
		}
	}
	return names
}
