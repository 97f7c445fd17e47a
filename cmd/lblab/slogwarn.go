package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/lblab/lblab/i18n"
)

// warningHandler prints the warnings the packages log (slog.Warn: the PNG
// plots lack glyphs, a CJK font cannot be read) as lblab prints its other
// warnings: one line, "warning: " (or "警告：") and the message, already
// said in the run's language, then its attributes in parentheses. Records
// below slog.LevelWarn are dropped.
type warningHandler struct {
	w    io.Writer
	lang string
	mu   *sync.Mutex
	// attrs are the attributes added by WithAttrs.
	attrs []slog.Attr
}

func newWarningHandler(w io.Writer, lang string) *warningHandler {
	return &warningHandler{w: w, lang: lang, mu: &sync.Mutex{}}
}

// Enabled implements slog.Handler.
func (h *warningHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle implements slog.Handler.
func (h *warningHandler) Handle(_ context.Context, r slog.Record) error {
	var attrs []string
	add := func(a slog.Attr) bool {
		attrs = append(attrs, a.Key+"="+a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	msg := r.Message
	if len(attrs) > 0 {
		msg = i18n.T("%s (%s)", msg, strings.Join(attrs, ", ")).In(h.lang)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, i18n.T("warning: %s", msg).In(h.lang))
	return err
}

// WithAttrs implements slog.Handler.
func (h *warningHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

// WithGroup implements slog.Handler; groups are not shown.
func (h *warningHandler) WithGroup(string) slog.Handler { return h }
