package nginxconf

import (
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// hintLookalikes appends to every error and warning whose line holds a
// character that only looks like ASCII (a Unicode hyphen, a full-width
// space or digit; outside a # comment) what to write instead: nginx
// splits words on ASCII blanks only, so "weight=5　max_fails=3" is one
// argument and "１0s" is not a time.
func hintLookalikes(src []byte, errs Errors, warns []Warning) {
	hint := units.LineHints(string(src), "#")
	for _, e := range errs {
		if h := hint(e.Line); !h.IsZero() {
			e.Text = i18n.T("%s (%s)", e.Message(), h)
			e.Msg = e.Text.String()
		}
	}
	for i := range warns {
		if h := hint(warns[i].Line); !h.IsZero() {
			warns[i].Text = i18n.T("%s (%s)", warns[i].Message(), h)
			warns[i].Msg = warns[i].Text.String()
		}
	}
}
