package scenarios

import (
	"reflect"
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
		return w.walk(n.Value, t)
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
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
			if e := w.walk(kv.Value, t.Elem()); e != nil {
				return e
			}
		}
	case reflect.Struct:
		for _, kv := range mappingValues(node) {
			if ft, ok := fieldType(t, kv.Key.GetToken().Value); ok {
				if e := w.walk(kv.Value, ft); e != nil {
					return e
				}
			}
		}
	}
	return nil
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

// notWhole refuses a scalar that is not a whole number: a float (even
// 5.0: a count, a port, a weight is written as one) or a string.
func notWhole(node ast.Node) *numberError {
	switch n := node.(type) {
	case *ast.IntegerNode, *ast.NullNode:
		return nil
	case *ast.FloatNode:
		return &numberError{n.GetToken(), i18n.T("%s is not a whole number", units.CutN(n.GetToken().Value, units.QuoteMax))}
	case *ast.StringNode:
		if !quoted(n) && isFloat(n.Value) { // 1e3: a float the YAML library reads as a string
			return &numberError{n.GetToken(), i18n.T("%s is not a whole number", units.CutN(n.Value, units.QuoteMax))}
		}
		return stringNumber(n, i18n.T("a whole number"))
	}
	return nil // lists, mappings, booleans: the decoder says what they are not
}

// notNumber refuses a string where a number goes.
func notNumber(node ast.Node) *numberError {
	if n, ok := node.(*ast.StringNode); ok && (quoted(n) || !isFloat(n.Value)) {
		return stringNumber(n, i18n.T("a number"))
	}
	return nil
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
