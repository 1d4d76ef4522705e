// Package logging builds chatd's structured logger (log/slog) on stderr, in
// text or JSON, with a level that can change while the daemon runs.
package logging

import (
	"fmt"
	"io"
	"log/slog"
)

// Logger is a slog.Logger with an adjustable level.
type Logger struct {
	*slog.Logger
	level *slog.LevelVar
}

// New returns a logger writing format ("text" or "json") to w at level.
func New(w io.Writer, format, level string) (*Logger, error) {
	lv := new(slog.LevelVar)
	if err := SetLevel(lv, level); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("unknown log format %q", format)
	}
	return &Logger{Logger: slog.New(h), level: lv}, nil
}

// SetLevel changes the level of a running logger.
func (l *Logger) SetLevel(level string) error { return SetLevel(l.level, level) }

// SetLevel parses level (debug, info, warn, error) into lv.
func SetLevel(lv *slog.LevelVar, level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("unknown log level %q", level)
	}
	lv.Set(l)
	return nil
}
