package labfile

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// numberError is a value of a lab or lb file that cannot go where it is
// written: a fraction or a string where a whole number goes, a string
// where a number goes. The YAML library converts those silently (2.9 into
// a whole-number field is 2, "5" is 5), so they are refused before it
// decodes.
type numberError struct {
	tk  *token.Token
	msg i18n.Text
}

func (e *numberError) Error() string { return e.msg.String() }

// checkNumbers walks node along the Go type t it will be decoded into and
// returns the first scalar that a numeric field (int, uint, float of any
// size, or a pointer to one) would take with a loss or a guess: a float
// (2.9, 5.0, 1e3) or a string ("5", "‐60") for a whole number, a string
// for a number. Types that decode themselves (units.Duration) are left to
// their own checks.
func checkNumbers(node ast.Node, t reflect.Type) *numberError {
	w := numberWalker{anchors: map[string]ast.Node{}}
	return w.walk(node, t)
}

type numberWalker struct {
	// anchors are the anchored values seen so far: an alias is checked
	// where it is used, against the type there.
	anchors map[string]ast.Node
	// aliases counts the aliases followed, bounded by MaxNodes (the file's
	// expanded size is bounded the same way before decoding).
	aliases int
}

var unmarshalerType = reflect.TypeFor[interface {
	UnmarshalYAML(func(any) error) error
}]()

func (w *numberWalker) walk(node ast.Node, t reflect.Type) *numberError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n := node.(type) {
	case nil:
		return nil
	case *ast.AnchorNode:
		w.anchors[n.Name.GetToken().Value] = n.Value
		return w.walk(n.Value, t)
	case *ast.AliasNode:
		target := w.anchors[n.Value.GetToken().Value]
		if w.aliases++; target == nil || w.aliases > MaxNodes {
			return nil
		}
		return w.walk(target, t)
	case *ast.TagNode:
		if e := taggedNumber(n, t); e != nil {
			return e
		}
		return w.walk(n.Value, t)
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// A duration: a number of seconds is checked as a number is; null
		// would leave the field unset, its default.
		return notDuration(node)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return notWhole(node)
	case reflect.Float32, reflect.Float64:
		return notNumber(node)
	case reflect.Slice, reflect.Array:
		if seq, ok := node.(*ast.SequenceNode); ok {
			for _, v := range seq.Values {
				if e := w.walk(v, t.Elem()); e != nil {
					return e
				}
			}
		}
	case reflect.Map:
		for _, kv := range mappingValues(node) {
			vt := t.Elem()
			if isMerge(kv) {
				vt = t
			}
			if e := w.walk(kv.Value, vt); e != nil {
				return e
			}
		}
	case reflect.Struct:
		for _, kv := range mappingValues(node) {
			if isMerge(kv) { // <<: *base merges base's keys into this mapping
				if e := w.walkMerge(kv.Value, t); e != nil {
					return e
				}
				continue
			}
			if ft, ok := fieldType(t, kv.Key.GetToken().Value); ok {
				if e := w.walk(kv.Value, ft); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

// taggedNumber refuses a tag on a scalar where a number goes, unless it
// is the scalar's own type (!!int 3, !!float 2.5, and !!int where any
// number goes), which untagPlain removes before decoding (the YAML
// library cannot decode !!int into a Go int): !!str makes the scalar a
// string ("3" with quotes), !!float a fraction where a whole number goes,
// any other tag (!!bool, !foo) something else.
func taggedNumber(n *ast.TagNode, t reflect.Type) *numberError {
	var want i18n.Text
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = i18n.T("a whole number")
	case reflect.Float32, reflect.Float64:
		want = i18n.T("a number")
	default:
		return nil
	}
	tag := token.ReservedTagKeyword(n.Start.Value)
	_, isInt := n.Value.(*ast.IntegerNode)
	_, isFloat := n.Value.(*ast.FloatNode)
	switch {
	case plainTagged(n):
		return nil
	case tag == token.IntegerTag && !isInt, tag == token.FloatTag && !isInt && !isFloat:
		return nil // !!int "3", !!float x: the value's own check says what it is not
	case tag == token.FloatTag && isInt && want.Format == "a number":
		return nil
	}
	value := n.Value.GetToken().Value
	if tag == token.StringTag {
		return &numberError{n.Start, i18n.T("%s %s is not %s but a string (the tag %s makes it one): remove the tag",
			units.CutN(n.Start.Value, units.QuoteMax), units.CutN(value, units.QuoteMax), want, units.CutN(n.Start.Value, units.QuoteMax))}
	}
	return &numberError{n.Start, i18n.T("%s %s is not %s: remove the tag",
		units.CutN(n.Start.Value, units.QuoteMax), units.CutN(value, units.QuoteMax), want)}
}

// plainTagged reports whether n tags a scalar with the type it has
// without the tag: !!int on a whole number, !!float on a fraction.
func plainTagged(n *ast.TagNode) bool {
	switch token.ReservedTagKeyword(n.Start.Value) {
	case token.IntegerTag:
		_, ok := n.Value.(*ast.IntegerNode)
		return ok
	case token.FloatTag:
		_, ok := n.Value.(*ast.FloatNode)
		return ok
	}
	return false
}

// untagPlain removes under node the tags that say what the scalar is
// without them (plainTagged: !!int 3 is 3), which the YAML library
// decodes wrongly or not at all.
func untagPlain(node ast.Node) {
	untag := func(v ast.Node) ast.Node {
		for {
			tn, ok := v.(*ast.TagNode)
			if !ok || !plainTagged(tn) {
				return v
			}
			v = tn.Value
		}
	}
	ast.Walk(visitFunc(func(n ast.Node) {
		switch n := n.(type) {
		case *ast.MappingValueNode:
			n.Value = untag(n.Value)
		case *ast.SequenceNode:
			for i := range n.Values {
				n.Values[i] = untag(n.Values[i])
			}
		case *ast.AnchorNode:
			n.Value = untag(n.Value)
		}
	}), node)
}

// visitFunc is an ast.Visitor that calls itself on every node.
type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	f(n)
	return f
}

// isMerge reports whether kv is a merge key (<<: *base), whose value's
// keys the YAML library merges into the mapping that holds it.
func isMerge(kv *ast.MappingValueNode) bool {
	_, ok := kv.Key.(*ast.MergeKeyNode)
	return ok || kv.Key.GetToken().Value == "<<"
}

// walkMerge walks the value of a merge key, a mapping or a list of them,
// as the mapping of type t it is merged into.
func (w *numberWalker) walkMerge(node ast.Node, t reflect.Type) *numberError {
	if seq, ok := node.(*ast.SequenceNode); ok {
		for _, v := range seq.Values {
			if e := w.walk(v, t); e != nil {
				return e
			}
		}
		return nil
	}
	return w.walk(node, t)
}

// mappingValues returns the key-value pairs of a mapping node (none for
// another node).
func mappingValues(node ast.Node) []*ast.MappingValueNode {
	switch n := node.(type) {
	case *ast.MappingNode:
		return n.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}
	}
	return nil
}

// fieldType returns the type of the field of struct t that the YAML key
// name decodes into, looking into inline structs.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			if ft, ok := fieldType(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

// notWhole refuses a scalar that is not a whole number written as a plain
// decimal: a float (even 5.0: a count, a port, a weight is written as
// one), a string, null (which would leave the default), .inf, or a form
// the YAML library reads otherwise than nginx and keepalived do (010 is
// octal 8 to it, 10 to them; 0x10, 0o10, 0b10, 1_000, +5).
func notWhole(node ast.Node) *numberError {
	switch n := node.(type) {
	case *ast.IntegerNode:
		return notPlain(n.GetToken(), false)
	case *ast.NullNode:
		return nullNumber(n, i18n.T("a whole number"))
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		tk := n.GetToken()
		return &numberError{tk, i18n.T("%s is not a whole number", units.CutN(tk.Value, units.QuoteMax))}
	case *ast.StringNode:
		switch {
		case !quoted(n) && wholeDigits.MatchString(n.Value): // 08, 09: no octal, a string to the YAML library
			return notPlain(n.GetToken(), false)
		case !quoted(n) && isFloat(n.Value): // 1e3: a float the YAML library reads as a string
			return &numberError{n.GetToken(), i18n.T("%s is not a whole number", units.CutN(n.Value, units.QuoteMax))}
		}
		return stringNumber(n, i18n.T("a whole number"))
	}
	return nil // lists, mappings, booleans: the decoder says what they are not
}

// notNumber refuses a string, null, or a number not written as a plain
// decimal (see notWhole; 0.5, .5, 5., 1e3 and -2 are plain) where a
// number goes. .inf and .nan are refused after decoding (units.NonFinite).
func notNumber(node ast.Node) *numberError {
	if n, ok := node.(*ast.StringNode); ok {
		if quoted(n) || !isFloat(n.Value) {
			return stringNumber(n, i18n.T("a number"))
		}
		return notPlain(n.GetToken(), true) // 08, 0x1p3: read as numbers
	}
	return plainOrNull(node, i18n.T("a number"))
}

// notDuration refuses null, or a number of seconds not written as a plain
// decimal, where a duration goes; the duration's own decoding says what
// else is not one (a string that is not "10s").
func notDuration(node ast.Node) *numberError {
	return plainOrNull(node, i18n.T("a duration"))
}

// plainOrNull refuses null, or a number not written as a plain decimal
// (fractions allowed), where want goes.
func plainOrNull(node ast.Node, want i18n.Text) *numberError {
	switch n := node.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		return notPlain(n.GetToken(), true)
	case *ast.NullNode:
		return nullNumber(n, want)
	}
	return nil
}

// nullNumber refuses null (~) where a value goes: the field would be left
// unset, and take its default.
func nullNumber(n ast.Node, want i18n.Text) *numberError {
	tk := n.GetToken()
	return &numberError{tk, i18n.T("%s is not %s: leave the field out for its default", units.CutN(tk.Value, units.QuoteMax), want)}
}

// wholeText and numberText are plain decimals: an optional minus sign,
// digits without leading zeros, and (a number) a fraction and an
// exponent.
var (
	wholeText = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	// wholeDigits is a whole number with leading zeros or underscores.
	wholeDigits = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)
	numberText  = regexp.MustCompile(`^-?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
)

// notPlain refuses a number that is not written as a plain decimal, and
// says what the YAML library would read and what to write instead.
func notPlain(tk *token.Token, fraction bool) *numberError {
	text := strings.TrimSpace(tk.Value)
	re := wholeText
	if fraction {
		re = numberText
	}
	if re.MatchString(text) {
		return nil
	}
	read, write := plainForm(text)
	return &numberError{tk, i18n.T("%s is not a plain decimal number (YAML would read %s): write %s, not %s",
		units.CutN(text, units.QuoteMax), units.CutN(read, units.QuoteMax), units.CutN(write, units.QuoteMax), units.CutN(text, units.QuoteMax))}
}

// plainForm returns what the YAML library reads from a number written
// text (0x10, 010, 0o10, 1_000, +5, 010.5) and its plain decimal: the
// value itself for a base prefix, the digits without the underscores,
// the plus sign and the leading zeros otherwise (what nginx reads: 010 is
// 10 there, octal 8 to YAML 1.1 and this library).
func plainForm(text string) (read, write string) {
	sign, body := "", strings.TrimLeft(text, "+")
	if strings.HasPrefix(body, "-") {
		sign, body = "-", strings.TrimLeft(body[1:], "+")
	}
	body = strings.ReplaceAll(body, "_", "")
	low := strings.ToLower(body)
	if len(low) > 1 && low[0] == '0' && (low[1] == 'x' || low[1] == 'o' || low[1] == 'b') {
		v := low
		if i, err := strconv.ParseInt(sign+low, 0, 64); err == nil {
			v = strconv.FormatInt(i, 10)
		} else if f, err := strconv.ParseFloat(sign+low, 64); err == nil { // 0x1p3
			v = strconv.FormatFloat(f, 'g', -1, 64)
		}
		return v, v
	}
	write = strings.TrimLeft(body, "0")
	if write == "" || write[0] == '.' || write[0] == 'e' || write[0] == 'E' {
		write = "0" + write
	}
	write = sign + write
	read = write
	if len(body) > 1 && body[0] == '0' && strings.Trim(body, "01234567") == "" {
		if i, err := strconv.ParseInt(sign+body, 8, 64); err == nil {
			read = strconv.FormatInt(i, 10) // YAML 1.1's octal
		}
	}
	return read, write
}

// quoted reports whether a string was written in quotes.
func quoted(n *ast.StringNode) bool {
	t := n.GetToken().Type
	return t == token.DoubleQuoteType || t == token.SingleQuoteType
}

// isFloat reports whether s is a number as strconv reads one (1e3, 2.5).
func isFloat(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// stringNumber says why a string is not a number: a lookalike character
// (a Unicode hyphen, a full-width digit or space), or quotes around one.
func stringNumber(n *ast.StringNode, want i18n.Text) *numberError {
	tk := n.GetToken()
	msg := i18n.T("%s is not %s", units.Quote(n.Value), want)
	if hint := units.Lookalike(n.Value); !hint.IsZero() {
		msg = i18n.T("%s is not %s (%s)", units.Quote(n.Value), want, hint)
	} else if quoted(n) && isFloat(n.Value) {
		msg = i18n.T("%s is not %s but a string: remove the quotes", units.Quote(n.Value), want)
	}
	return &numberError{tk, msg}
}
