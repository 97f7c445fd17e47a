package labfile

import (
	"io"
	"os"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/scanner"
	"github.com/goccy/go-yaml/token"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// Limits of a lab file (and of the YAML given to lblab proxy --config),
// checked before the YAML is parsed or decoded. They are far above any
// real lab (the catalog's largest is a few KB, at most 5 levels deep, with
// at most 15 keys in a mapping) and bound what a broken or hostile file
// costs: the YAML library's parser takes time and memory quadratic in
// nesting depth and in the keys of one mapping, and about 1 KB of memory
// per token.
const (
	// MaxFileSize is the largest file read, in bytes: 1 MiB (a lab of
	// 10,000 faults is about 500 KB). The YAML library's scanner holds
	// about 1 KB for each token of a whole file before it returns any:
	// 4 MiB of "1," took 800 MB to refuse.
	MaxFileSize = 1 << 20
	// MaxDepth is the deepest nesting of lists and mappings: 64 levels.
	MaxDepth = 64
	// MaxKeys is the most keys one mapping may have: 256.
	MaxKeys = 256
	// MaxNodes is the most values a file may hold once its aliases (*name)
	// are expanded: 1,000,000 (a "billion laughs" file is refused).
	MaxNodes = 1_000_000
	// MaxTokens is the most YAML tokens (keys, values, dashes, brackets,
	// comments) a file may have: 250,000, which the YAML library parses and
	// decodes in about a second and 200 MB at most. A lab of 10,000 faults
	// has 130,000 to 180,000.
	MaxTokens = 250_000
)

// ReadFile reads an input file of at most MaxFileSize bytes; a larger one
// is refused with Errors, without being read whole. Other errors are the
// file system's.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, Errors{tooLarge(path)}
	}
	return b, nil
}

func tooLarge(name string) *Error {
	return errorAt(name, 0, 0, "", i18n.T("the file is larger than %d MiB, the most a lab or lb file may be", MaxFileSize>>20))
}

// parseYAML parses one YAML text within the limits above. A limit passed
// is an *Error with the line and column where it was passed, found while
// the text is cut into tokens: a file is refused before it is all held in
// memory.
func parseYAML(name string, src []byte) (*ast.File, error) {
	if len(src) > MaxFileSize {
		return nil, tooLarge(name)
	}
	var sc scanner.Scanner
	sc.Init(string(src))
	var tokens token.Tokens
	var sh shape
	for {
		sub, err := sc.Scan()
		if err == io.EOF {
			break
		}
		for _, tk := range sub {
			e := sh.add(tk)
			if e == nil && len(tokens) == MaxTokens {
				e = errorAt("", tk.Position.Line, tk.Position.Column, "",
					i18n.T("more than %d YAML tokens (keys, values, dashes, brackets, comments), the most a lab or lb file may have", MaxTokens))
			}
			if e != nil {
				e.File = name
				return nil, e
			}
			tokens.Add(tk)
		}
	}
	file, err := parser.Parse(tokens, 0)
	if err != nil {
		return nil, err
	}
	if e := checkAliases(file); e != nil {
		e.File = name
		return nil, e
	}
	return file, nil
}

// shape follows, token by token, how deep lists and mappings nest (block
// ones by the columns of their keys and dashes, flow ones by their
// brackets) and how many keys each block mapping has.
type shape struct {
	block []open // the block collections open, innermost last
	flow  int    // the flow collections open
	prev  *token.Token
}

// open is a block collection: the column of its keys or dashes.
type open struct {
	col, keys int
	mapping   bool
}

// add takes the next token and returns the limit it passes, or nil.
func (s *shape) add(tk *token.Token) *Error {
	switch tk.Type {
	case token.CommentType:
		return nil
	case token.DocumentHeaderType, token.DocumentEndType:
		s.block, s.flow = s.block[:0], 0
	case token.SequenceStartType, token.MappingStartType:
		s.flow++
		if len(s.block)+s.flow > MaxDepth {
			return deepError(tk)
		}
	case token.SequenceEndType, token.MappingEndType:
		if s.flow > 0 {
			s.flow--
		}
	case token.SequenceEntryType, token.MappingValueType:
		if s.flow > 0 {
			break
		}
		at, mapping := tk, tk.Type == token.MappingValueType
		if mapping && s.prev != nil {
			at = s.prev // the key
		}
		col := at.Position.Column
		// Close what is deeper; a key at the column of a list ends the
		// list (a list may sit at its mapping key's column).
		for n := len(s.block); n > 0 && (s.block[n-1].col > col || s.block[n-1].col == col && mapping && !s.block[n-1].mapping); n-- {
			s.block = s.block[:n-1]
		}
		if n := len(s.block); n > 0 && s.block[n-1].col == col && s.block[n-1].mapping == mapping {
			if mapping {
				s.block[n-1].keys++
				if s.block[n-1].keys > MaxKeys {
					return errorAt("", at.Position.Line, col, "",
						i18n.T("a mapping with more than %d keys, the most a lab or lb file may have in one mapping", MaxKeys))
				}
			}
			break
		}
		s.block = append(s.block, open{col: col, keys: 1, mapping: mapping})
		if len(s.block)+s.flow > MaxDepth {
			return deepError(at)
		}
	}
	s.prev = tk
	return nil
}

func deepError(tk *token.Token) *Error {
	return errorAt("", tk.Position.Line, tk.Position.Column, "",
		i18n.T("lists and mappings nest deeper than %d levels, the most a lab or lb file may have", MaxDepth))
}

// checkAliases counts the values of a parsed file with every alias
// expanded, in one walk: an anchor's size is counted where it is defined
// and again at each alias of it.
func checkAliases(file *ast.File) *Error {
	sizes := map[string]int{}
	var over *token.Token
	var walk func(n ast.Node) int
	walk = func(n ast.Node) int {
		if n == nil || over != nil {
			return 0
		}
		size := 1
		switch n := n.(type) {
		case *ast.AliasNode:
			size = sizes[n.Value.GetToken().Value]
		case *ast.AnchorNode:
			size = walk(n.Value)
			sizes[n.Name.GetToken().Value] = size
		case *ast.TagNode:
			size = walk(n.Value)
		case *ast.MappingNode:
			for _, v := range n.Values {
				size += walk(v)
			}
		case *ast.MappingValueNode:
			size = walk(n.Key) + walk(n.Value)
		case *ast.SequenceNode:
			for _, v := range n.Values {
				size += walk(v)
			}
		}
		if size > MaxNodes && over == nil {
			over = n.GetToken()
		}
		return size
	}
	for _, doc := range file.Docs {
		if walk(doc.Body); over != nil {
			return errorAt("", over.Position.Line, over.Position.Column, "",
				i18n.T("aliases expand to more than %d values, the most a lab or lb file may hold", MaxNodes))
		}
	}
	return nil
}

// decodeNode decodes node into v as yaml.NodeToValue does, with unknown
// fields refused, and numbers that would be truncated or guessed refused
// (checkNumbers: a *numberError). The YAML library panics on some inputs (a tag on a value
// where a list goes: faults: !!str x); that panic is an *Error here, placed
// at the first tag under node when there is one.
func decodeNode(node ast.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e := errorAt("", 0, 0, "", i18n.T("the YAML library cannot decode this (%v)", r))
			if tag := firstTag(node); tag != nil {
				tk := tag.GetToken()
				e.Line, e.Column = tk.Position.Line, tk.Position.Column
				e.say(i18n.T("the tag %s cannot be decoded here: remove it", units.Quote(tk.Value)))
			}
			err = e
		}
	}()
	if e := checkNumbers(node, reflect.TypeOf(v)); e != nil {
		return e
	}
	untagPlain(node)
	return yaml.NodeToValue(node, v, yaml.DisallowUnknownField())
}

// firstTag returns the first tag node (!!str, !x) under node, or nil.
func firstTag(node ast.Node) *ast.TagNode {
	var found *ast.TagNode
	ast.Walk(tagFinder{&found}, node)
	return found
}

type tagFinder struct{ found **ast.TagNode }

func (f tagFinder) Visit(n ast.Node) ast.Visitor {
	if *f.found != nil {
		return nil
	}
	if t, ok := n.(*ast.TagNode); ok {
		*f.found = t
		return nil
	}
	return f
}
