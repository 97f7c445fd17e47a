package units

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestDurationDecodes(t *testing.T) {
	for _, c := range []struct {
		yaml string
		d    time.Duration
		bad  string
	}{
		{"10s", 10 * time.Second, ""},
		{"'250ms'", 250 * time.Millisecond, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{"3", 3 * time.Second, ""},
		{"0x10", 16 * time.Second, ""},
		{"-1s", -time.Second, ""},
		{"fast", 0, "fast"},
		{".nan", 0, ".nan"},
		{".inf", 0, ".inf"},
		{"1e10", 0, "1e10"},
		{"true", 0, "true"},
		{"[1s]", 0, "a list"},
		{"{a: 1}", 0, "a mapping"},
	} {
		var v struct {
			D Duration `yaml:"d"`
		}
		if err := yaml.Unmarshal([]byte("d: "+c.yaml), &v); err != nil {
			t.Errorf("%s: %v", c.yaml, err)
			continue
		}
		if v.D.D != c.d || v.D.Bad() != c.bad || !v.D.IsSet() {
			t.Errorf("%s: got %v, bad %q, set %v; want %v, bad %q", c.yaml, v.D.D, v.D.Bad(), v.D.IsSet(), c.d, c.bad)
		}
		if (c.bad == "") != (v.D.Problem() == "") {
			t.Errorf("%s: problem %q", c.yaml, v.D.Problem())
		}
	}
}

func TestQuoteCutsALine(t *testing.T) {
	if got := Quote("short"); got != `"short"` {
		t.Errorf("Quote(short) = %s", got)
	}
	long := strings.Repeat("é", 100) // 200 bytes: the cut falls inside a rune
	got := Quote(long)
	if !strings.HasSuffix(got, `…(200 bytes)"`) || len(got) > QuoteMax || strings.ContainsRune(got, '\uFFFD') || strings.Contains(got, `\x`) {
		t.Errorf("Quote(200 bytes) = %s", got)
	}
	// Escapes count: NULs quote to at most QuoteMax bytes too, however
	// many (FuzzParseLab found 80 of them out of range).
	for _, n := range []int{QuoteMax - 1, QuoteMax, QuoteMax + 1, 200} {
		got := Quote(strings.Repeat("\x00", n))
		if len(got) > QuoteMax || !strings.HasSuffix(got, fmt.Sprintf(`…(%d bytes)"`, n)) {
			t.Errorf("Quote(%d NULs) = %s (%d bytes)", n, got, len(got))
		}
	}
	msg := Sprintf("no host %q in %s (%v)", strings.Repeat("h", 1000), strings.Repeat("m", 200), 3)
	if len(msg) > 100+200+QuoteMax || !strings.Contains(msg, strings.Repeat("m", 200)) || !strings.Contains(msg, "…(1000 bytes)\" in") {
		t.Errorf("Sprintf cut the wrong argument: %s", msg)
	}
	if got := Sprintf("100%% of %q", "x"); got != `100% of "x"` {
		t.Errorf("Sprintf with %%%%: %s", got)
	}
}
