package nginxconf

import (
	"reflect"
	"strings"
	"testing"
)

// flat renders directives as "LINE name [args]" lines, blocks indented.
func flat(nodes []*node, indent string, out *[]string) {
	for _, n := range nodes {
		s := indent + strings.Join(append([]string{itoa(n.line), n.name}, quoteAll(n.args)...), " ")
		if n.isBlock {
			s += " {"
		}
		*out = append(*out, s)
		flat(n.block, indent+"  ", out)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "<" + a + ">"
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "words, blocks and lines",
			src:  "a b c;\nd {\n  e;\n}\nf\n  g\n  h;\n",
			want: []string{"1 a <b> <c>", "2 d {", "  3 e", "5 f <g> <h>"},
		},
		{
			name: "quotes keep ; { } # and spaces",
			src:  `a "x;y" 'p { q } # r' "";`,
			want: []string{"1 a <x;y> <p { q } # r> <>"},
		},
		{
			name: "escapes",
			src:  `a "q\"q" 'q\'q' "b\\s" "t\tn\nr\r" \x "\d";`,
			want: []string{"1 a <q\"q> <q'q> <b\\s> <t\tn\nr\r> <\\x> <\\d>"},
		},
		{
			name: "escaped terminators stay in words, backslash kept (as nginx)",
			src:  `a b\;c d\ e;`,
			want: []string{"1 a <b\\;c> <d\\ e>"},
		},
		{
			name: "comments where a word may start; # inside a word",
			src:  "# x { \"\na b#c; # d }\ne # f\n;\n",
			want: []string{"2 a <b#c>", "3 e"},
		},
		{
			name: "${var} inside words and quotes",
			src:  `set $a ${b}c "${d}";`,
			want: []string{"1 set <$a> <${b}c> <${d}>"},
		},
		{
			name: "} inside a word is part of it",
			src:  "a b};\n",
			want: []string{"1 a <b}>"},
		},
		{
			name: "a multi-line string keeps the line of its start",
			src:  "a\n\"x\ny\"\nz;\n",
			want: []string{"1 a <x\ny> <z>"},
		},
		{
			name: "if with parentheses after a quote",
			src:  "if ($a = \"b\") { return 1; }",
			want: []string{"1 if <($a> <=> <b> <)> {", "  1 return <1>"},
		},
		{
			name: "a word right before {",
			src:  "a b{c;}",
			want: []string{"1 a <b> {", "  1 c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := parse([]byte(tt.src))
			if err != nil {
				t.Fatalf("parse: line %d: %s", err.line, err.msg)
			}
			var got []string
			flat(nodes, "", &got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		line int
		msg  string
	}{
		{"a {\n", 2, `unexpected end of file, expecting "}"`},
		{"a b", 1, `unexpected end of file, expecting ";" or "}"`},
		{"a 'b;\n\n", 3, `unexpected end of file, expecting ";" or "}"`},
		{"a;\n}\n", 2, `unexpected "}"`},
		{"a {\n b c }\n", 2, `unexpected "}"`},
		{"{", 1, `unexpected "{"`},
		{"\n;", 2, `unexpected ";"`},
		{"a \"b\"c;", 1, `unexpected "c"`},
		{"a 'b'# c\n;", 1, `unexpected "#"`},
		{strings.Repeat("a {", maxDepth+1) + strings.Repeat("}", maxDepth+1), 1, "blocks are nested more than 64 deep"},
	}
	for _, tt := range tests {
		_, err := parse([]byte(tt.src))
		if err == nil || err.line != tt.line || err.msg.String() != tt.msg {
			t.Errorf("parse(%q) = %+v, want line %d %q", tt.src, err, tt.line, tt.msg)
		}
	}
}
