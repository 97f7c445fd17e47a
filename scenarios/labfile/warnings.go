package labfile

import (
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// Warning is something a lab's embedded configuration (a keepalived.conf,
// an nginx configuration) holds that lblab reads but does not act on (an
// ignored keyword or directive, a vrrp_sync_group), with its place in the
// lab file and in the embedded text.
type Warning struct {
	// File is the lab file's path (or catalog name).
	File string
	// Line and Column are the place in the lab file, 1-based; 0 when
	// unknown.
	Line, Column int
	// Field is the lab field holding the embedded text, e.g.
	// vrrp.keepalived.r1.
	Field string
	// Text names the embedded text, e.g. "r1's keepalived.conf".
	Text string
	text i18n.Text // Text as a message
	// TextLine is the line in the embedded text, 1-based; 0 for a warning
	// about the text as a whole.
	TextLine int
	// Msg says what is not modelled.
	Msg string
	// Message is Msg as a message to say in other languages (In).
	Message i18n.Text
}

// String formats the warning as FILE:LINE:COL: FIELD: MSG (line N of
// TEXT), as lab errors are formatted.
func (w Warning) String() string { return w.In(i18n.English) }

// In formats the warning as String does, its message in lang.
func (w Warning) In(lang string) string { return w.error().In(lang) }

// error is the warning as an Error: its place and its message, with the
// line of the embedded text.
func (w Warning) error() *Error {
	msg := i18n.Or(w.Message, w.Msg)
	e := errorAt(w.File, w.Line, w.Column, w.Field, msg)
	if w.TextLine > 0 {
		e.say(i18n.T("%s (line %d of %s)", msg, w.TextLine, i18n.Or(w.text, w.Text)))
	}
	return e
}

// Full is the warning as a message (String in English), to say in
// another language: its place, then its message.
func (w Warning) Full() i18n.Text {
	e := w.error()
	return i18n.T("%s%s", e.format(""), e.Message())
}

// Warnings are the warnings of the lab's embedded configurations, in the
// order of the lab file; nil when there are none.
func (l *Lab) Warnings() []Warning { return l.warnings }

// keepalivedWarnings places the warnings of host's keepalived.conf, whose
// text starts on the line after base in the lab file.
func keepalivedWarnings(file, field, host string, base int, kws []keepalived.Warning) []Warning {
	out := make([]Warning, 0, len(kws))
	for _, kw := range kws {
		out = append(out, embeddedWarning(file, field, i18n.T("%s's keepalived.conf", host), base, kw.Line, kw.Message()))
	}
	return out
}

// nginxWarnings places the warnings of the lab's nginx configuration:
// inline text starts on the line after base in the lab file; a file beside
// the lab (base < 0) is named by its path, and the warning points at the
// value of the lab's nginx field (fieldLine:fieldCol).
func nginxWarnings(file string, base, fieldLine, fieldCol int, text i18n.Text, nws []nginxconf.Warning) []Warning {
	out := make([]Warning, 0, len(nws))
	for _, nw := range nws {
		if base < 0 {
			w := embeddedWarning(file, "nginx", text, 0, nw.Line, nw.Message())
			if fieldLine > 0 {
				w.Line, w.Column = fieldLine, fieldCol
			}
			out = append(out, w)
			continue
		}
		out = append(out, embeddedWarning(file, "nginx", text, base, nw.Line, nw.Message()))
	}
	return out
}

// embeddedWarning places a warning of an embedded text whose line 1 is the
// line after base in the lab file; textLine 0 is about the text as a
// whole.
func embeddedWarning(file, field string, text i18n.Text, base, textLine int, msg i18n.Text) Warning {
	w := Warning{File: file, Field: field, Text: text.String(), TextLine: textLine, Msg: msg.String(), Message: msg, text: text}
	if textLine > 0 {
		w.Line, w.Column = base+textLine, 1
	}
	return w
}

// WarningTexts are the warnings as results.json and the report show them,
// in English and as messages; nil when there are none.
func (l *Lab) WarningTexts() ([]string, []i18n.Text) {
	var out []string
	var texts []i18n.Text
	for _, w := range l.warnings {
		out = append(out, w.String())
		texts = append(texts, w.Full())
	}
	return out, texts
}
