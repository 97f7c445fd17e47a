// Package i18n says lblab's messages to the user (lab and configuration
// errors, warnings, check results) in English or Chinese, gettext-like: a
// message is its English format and its arguments (Text); a table maps
// each English format to its Chinese format, with the same verbs in the
// same order. Arguments (field names, numbers, quoted input values) stay
// as they are in every language; an argument that is itself a message is
// said in the same language.
package i18n

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Languages a message can be said in.
const (
	// English is the default, and the language of every Error() and
	// String().
	English = "en"
	// Chinese is Simplified Chinese.
	Chinese = "zh"
)

// Text is one message: its English format (fmt verbs) and its arguments.
// The zero Text is no message.
type Text struct {
	// Format is the English format, a key of the translation tables.
	Format string `json:"format"`
	// Args are the values for Format's verbs.
	Args []any `json:"args,omitempty"`
}

// T returns the message format with args.
func T(format string, args ...any) Text { return Text{Format: format, Args: args} }

// Or returns t, or the English text english as a message (said as it is
// in every language) when t is no message: the message of an error or
// warning whose text came from elsewhere (an operating system, a library).
func Or(t Text, english string) Text {
	if t.IsZero() {
		return T("%s", english)
	}
	return t
}

// IsZero reports whether t is no message.
func (t Text) IsZero() bool { return t.Format == "" }

// String says t in English.
func (t Text) String() string { return t.In(English) }

// In says t in lang (English or Chinese): the format's translation, or the
// English format when lang has none, with every argument that is a
// Localizer (or an error holding one) said in lang too.
func (t Text) In(lang string) string {
	if t.Format == "" {
		return ""
	}
	args := make([]any, len(t.Args))
	for i, a := range t.Args {
		args[i] = localize(a, lang)
	}
	format := wrapVerb.ReplaceAllString(Translate(lang, t.Format), "%${1}v")
	if lang == Chinese {
		return spaced(format, args)
	}
	return fmt.Sprintf(format, args...)
}

// wrapVerb is a %w verb (an error's, Errorf's), with its argument index
// if any ("%[3]w"): fmt.Sprintf says it as %v.
var wrapVerb = regexp.MustCompile(`%(\[\d+\])?w`)

// spaced formats format with args as fmt.Sprintf does, and puts a space
// where the fixed text and an argument meet between a Han character and
// a Latin letter or digit, as Chinese is set ("看起来像 Unicode 连字符",
// "本机有 lo"); inside the fixed text and inside an argument nothing
// changes. A format it does not take apart (a * width, a verb without
// its argument, an argument left over) is fmt.Sprintf's.
func spaced(format string, args []any) string {
	var b strings.Builder
	arg, reordered := 0, false
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			joinSpaced(&b, format[i:])
			break
		}
		joinSpaced(&b, format[i:i+j])
		k := i + j + 1
		spec := "%"
		for k < len(format) && strings.IndexByte("+-# 0123456789.[", format[k]) >= 0 {
			if format[k] == '[' {
				end := strings.IndexByte(format[k:], ']')
				n, err := strconv.Atoi(format[k+1 : k+max(end, 1)])
				if end < 0 || err != nil {
					return fmt.Sprintf(format, args...)
				}
				arg, reordered = n-1, true
				k += end + 1
				continue
			}
			spec += format[k : k+1]
			k++
		}
		switch {
		case k == len(format):
			return fmt.Sprintf(format, args...)
		case format[k] == '%':
			b.WriteByte('%')
		case !isASCIILetter(rune(format[k])) || arg < 0 || arg >= len(args):
			return fmt.Sprintf(format, args...)
		default:
			joinSpaced(&b, fmt.Sprintf(spec+format[k:k+1], args[arg]))
			arg++
		}
		i = k + 1
	}
	if arg < len(args) && !reordered {
		return fmt.Sprintf(format, args...)
	}
	return b.String()
}

// joinSpaced appends s to b, after a space when one ends in a Han
// character and the other begins with a Latin letter or digit.
func joinSpaced(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	last, _ := utf8.DecodeLastRuneInString(b.String())
	first, _ := utf8.DecodeRuneInString(s)
	if unicode.Is(unicode.Han, last) && isLatin(first) || isLatin(last) && unicode.Is(unicode.Han, first) {
		b.WriteByte(' ')
	}
	b.WriteString(s)
}

func isASCIILetter(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

// isLatin reports whether r is an ASCII letter or digit.
func isLatin(r rune) bool { return isASCIILetter(r) || '0' <= r && r <= '9' }

// localize returns a in lang when it can say itself in lang, else a.
func localize(a any, lang string) any {
	switch v := a.(type) {
	case Localizer:
		return v.In(lang)
	case error:
		if lang != English {
			return Say(v, lang)
		}
	}
	return a
}

// Localizer is a message, or an error, that can say itself in a language.
type Localizer interface {
	// In says it in lang (English or Chinese).
	In(lang string) string
}

// Translate returns the format in lang: its entry in lang's table, or
// format itself when lang is English or the table has no entry.
func Translate(lang, format string) string {
	if lang != Chinese {
		return format
	}
	if zh, ok := chinese[format]; ok {
		return zh
	}
	return format
}

// Has reports whether lang's table has format (English has every format).
func Has(lang, format string) bool {
	if lang != Chinese {
		return true
	}
	_, ok := chinese[format]
	return ok
}

// Say returns err's message in lang: err's own In when err is a Localizer,
// else its Error().
func Say(err error, lang string) string {
	if err == nil {
		return ""
	}
	if l, ok := err.(Localizer); ok {
		return l.In(lang)
	}
	return err.Error()
}

// Error is an error made of a Text: Errorf's result.
type Error struct {
	// Text is the message; a %w verb's argument is the wrapped error.
	Text Text
	err  error
}

// Errorf returns an error of format and args, as fmt.Errorf does (a %w
// argument is wrapped), whose message In says in other languages.
func Errorf(format string, args ...any) error {
	return &Error{Text: T(format, args...), err: fmt.Errorf(format, args...)}
}

// Error says the error in English.
func (e *Error) Error() string { return e.err.Error() }

// In says the error in lang.
func (e *Error) In(lang string) string { return e.Text.In(lang) }

// Unwrap returns the errors of the %w verbs.
func (e *Error) Unwrap() []error {
	if u, ok := e.err.(interface{ Unwrap() error }); ok {
		return []error{u.Unwrap()}
	}
	if u, ok := e.err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return nil
}

// Verbs returns the verb of each argument of a format, by argument ("%q",
// "%.3g", "%d"), with explicit argument indexes resolved ("%[2]d" is the
// second argument's "%d"), so that a translation may put the arguments in
// another order; "%%" is no verb.
func Verbs(format string) []string {
	var out []string
	arg := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		var flags strings.Builder
		for j < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[j]) >= 0 {
			if format[j] == '[' {
				k := strings.IndexByte(format[j:], ']')
				if k < 0 {
					break
				}
				if n, err := strconv.Atoi(format[j+1 : j+k]); err == nil {
					arg = n - 1
				}
				j += k + 1
				continue
			}
			flags.WriteByte(format[j])
			j++
		}
		if j == len(format) {
			break
		}
		if format[j] != '%' {
			for len(out) <= arg {
				out = append(out, "")
			}
			out[arg] = "%" + flags.String() + string(format[j])
			arg++
		}
		i = j
	}
	return out
}

// Lines says each item in lang, one a line.
func Lines[T Localizer](items []T, lang string) string {
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = it.In(lang)
	}
	return strings.Join(lines, "\n")
}

// UnmarshalJSON reads a Text as MarshalJSON (encoding/json) writes it:
// {"format": ..., "args": [...]}. Each argument is typed by its verb, so
// that the Text says the same after the round trip: a message (an object
// with a format) is a Text, a number under %d (%x, %c, ...) an int64,
// under %f (%g, %e) a float64, anything else under %s, %q or %v its text.
func (t *Text) UnmarshalJSON(b []byte) error {
	var raw struct {
		Format string            `json:"format"`
		Args   []json.RawMessage `json:"args"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	verbs := Verbs(raw.Format)
	args := make([]any, len(raw.Args))
	for i, a := range raw.Args {
		verb := byte('v')
		if i < len(verbs) && verbs[i] != "" {
			verb = verbs[i][len(verbs[i])-1]
		}
		v, err := argOf(a, verb)
		if err != nil {
			return fmt.Errorf("i18n.Text %q: argument %d: %w", raw.Format, i+1, err)
		}
		args[i] = v
	}
	*t = Text{Format: raw.Format, Args: args}
	return nil
}

// argOf decodes one argument of a Text for verb.
func argOf(a json.RawMessage, verb byte) (any, error) {
	s := strings.TrimSpace(string(a))
	switch {
	case strings.HasPrefix(s, "{"):
		var t Text
		err := json.Unmarshal(a, &t)
		return t, err
	case strings.HasPrefix(s, `"`):
		var str string
		err := json.Unmarshal(a, &str)
		return str, err
	case strings.IndexByte("dboxXcU", verb) >= 0:
		var n int64
		err := json.Unmarshal(a, &n)
		return n, err
	case strings.IndexByte("eEfFgG", verb) >= 0:
		var f float64
		err := json.Unmarshal(a, &f)
		return f, err
	}
	var v any
	if err := json.Unmarshal(a, &v); err != nil {
		return nil, err
	}
	if _, isNum := v.(float64); isNum {
		return json.Number(s), nil // %v, %s: the number as written
	}
	return v, nil
}
