package health

import (
	"strings"
	"testing"
	"time"
)

func TestPassiveTransitions(t *testing.T) {
	p := NewPassive(2)
	if _, ch := p.Observe(0, 1, 2, 10*time.Second, "refused"); ch {
		t.Fatal("down before max_fails")
	}
	tr, ch := p.Observe(0, 2, 2, 10*time.Second, "refused")
	if !ch || tr.Up || !p.Down(0) || !strings.Contains(tr.Reason, "2 failed tries (max_fails 2, last: refused)") {
		t.Fatalf("at max_fails: %+v %v", tr, ch)
	}
	if _, ch := p.Observe(0, 3, 2, 10*time.Second, "refused"); ch {
		t.Fatal("a second down")
	}
	if tr, ch := p.Observe(0, 0, 2, 10*time.Second, ""); !ch || !tr.Up || p.Down(0) {
		t.Fatalf("recovery: %+v %v", tr, ch)
	}
	if _, ch := p.Observe(1, 99, 0, 0, "refused"); ch {
		t.Fatal("max_fails 0 has no accounting")
	}
}
