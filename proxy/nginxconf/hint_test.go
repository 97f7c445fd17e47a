package nginxconf

import (
	"strings"
	"testing"
)

// A full-width digit, a Unicode hyphen or a full-width space in a value
// gets a hint naming the character and what to write instead.
func TestLookalikeHints(t *testing.T) {
	conf := `http {
    upstream app {
        server 10.0.0.1:80 weight=５;
        server 10.0.0.2:80 max_fails=3 fail_timeout=‐10s;
        server 10.0.0.3:80 weight=2　max_fails=3;
    }
    server {
        listen 80;   # ‐ in a comment is fine
        location / { proxy_pass http://app; }
    }
}
`
	_, _, err := Import("n.conf", []byte(conf))
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, want := range []string{
		`n.conf:3: `, `("５" looks like a full-width digit (U+FF15); use '5')`,
		`n.conf:4: `, `("‐" looks like a Unicode hyphen (U+2010); use '-')`,
		`n.conf:5: `, `looks like a full-width space (U+3000); use an ASCII space)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors:\n%s\nwant %q", got, want)
		}
	}
	if strings.Contains(got, "n.conf:8:") {
		t.Errorf("a comment got a hint:\n%s", got)
	}
}
