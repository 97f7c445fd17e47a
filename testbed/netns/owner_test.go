package netns

import "testing"

// TestOwnerPid: the owner of a namespace, link or work folder is the pid
// in its name; a folder named by an older lblab (lblab-netns-<random>) or
// a name of another form has none, so that Clean keeps it (but --all).
func TestOwnerPid(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"lbl-4242-1-r1", 4242, true},
		{"lbl-4242-12-lan", 4242, true},
		{"lblab-netns-4242-1-987654321", 4242, true},
		{"lblab-netns-987654321", 0, false}, // an older lblab's folder
		{"lbl-4242", 0, false},
		{"lbl-r1-1", 0, false},
		{"lbl-0-1-r1", 0, false},
		{"lbl--1-r1", 0, false},
		{"other-4242-1", 0, false},
	} {
		pid, ok := ownerPid(tc.name)
		if ok != tc.ok || ok && pid != tc.pid {
			t.Errorf("ownerPid(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}
