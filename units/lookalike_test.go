package units

import "testing"

func TestLookalikeHint(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-60", ""},
		{"主服务器", ""},
		{"\u201060", `"‐" looks like a Unicode hyphen (U+2010); use '-'`},
		{"\u221260", `"−" looks like a Unicode hyphen (U+2212); use '-'`},
		{"\uff0d60", `"－" looks like a full-width hyphen (U+FF0D); use '-'`},
		{"100\u30002", `"\u3000" looks like a full-width space (U+3000); use an ASCII space`},
		{"1\u00a0s", `"\u00a0" looks like a Unicode space (U+00A0); use an ASCII space`},
		{"\uff11\uff10\uff10", `"１" looks like a full-width digit (U+FF11); use '1'`},
		{"1\uff0e5", `"．" looks like a full-width character (U+FF0E); use '.'`},
		{"1\u30025", `"。" looks like an ideographic full stop (U+3002); use '.'`},
	} {
		if got := LookalikeHint(c.in); got != c.want {
			t.Errorf("LookalikeHint(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
