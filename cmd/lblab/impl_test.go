package main

import (
	"errors"
	"slices"
	"testing"
)

// TestImplSets: --impl ROLE=PROGRAM becomes the lab's impl field, added
// to a lab that has none, set in one that has; a bad flag is a usage
// error.
func TestImplSets(t *testing.T) {
	got, err := implSets("weighted", []string{"duration=5s"}, []string{"proxy=lblab", "proxy=nginx"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"duration=5s", "impl={proxy: nginx}"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got, err = implSets("weighted", []string{"impl={vrrp: lblab}"}, []string{"proxy=nginx"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"impl={vrrp: lblab}", "impl.proxy=nginx"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"proxy", "dns=bind", "proxy="} {
		var u usageError
		if _, err := implSets("weighted", nil, []string{bad}); !errors.As(err, &u) {
			t.Errorf("--impl %s: want a usage error, got %v", bad, err)
		}
	}
}
