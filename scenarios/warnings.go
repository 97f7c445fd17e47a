package scenarios

import (
	"fmt"

	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// Warning is something a lab's embedded configuration holds that lblab
// reads but does not act on (an ignored keyword, a vrrp_sync_group), with
// its place in the lab file and in the embedded text.
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
	// TextLine is the line in the embedded text, 1-based; 0 for a warning
	// about the text as a whole.
	TextLine int
	// Msg says what is not modelled.
	Msg string
}

// String formats the warning as FILE:LINE:COL: FIELD: MSG (line N of
// TEXT), as lab errors are formatted.
func (w Warning) String() string {
	e := Error{File: w.File, Line: w.Line, Column: w.Column, Field: w.Field, Msg: w.Msg}
	if w.TextLine > 0 {
		e.Msg = fmt.Sprintf("%s (line %d of %s)", w.Msg, w.TextLine, w.Text)
	}
	return e.Error()
}

// Warnings are the warnings of the lab's embedded configurations, in the
// order of the lab file; nil when there are none.
func (l *Lab) Warnings() []Warning { return l.warnings }

// keepalivedWarnings places the warnings of host's keepalived.conf, whose
// text starts on the line after base in the lab file.
func keepalivedWarnings(file, field, host string, base int, kws []keepalived.Warning) []Warning {
	out := make([]Warning, 0, len(kws))
	for _, kw := range kws {
		w := Warning{File: file, Field: field, Text: host + "'s keepalived.conf", TextLine: kw.Line, Msg: kw.Msg}
		if kw.Line > 0 {
			w.Line, w.Column = base+kw.Line, 1
		}
		out = append(out, w)
	}
	return out
}

// warningTexts are the warnings as results.json and the report show them;
// nil when there are none.
func (l *Lab) warningTexts() []string {
	var out []string
	for _, w := range l.warnings {
		out = append(out, w.String())
	}
	return out
}
