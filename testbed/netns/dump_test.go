package netns

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestDumpRetriesInterrupted: a dump that another change interrupted is
// run again, and its complete result returned; one interrupted every
// time is an error that says so.
func TestDumpRetriesInterrupted(t *testing.T) {
	calls := 0
	got, err := dump(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{1}, netlink.ErrDumpInterrupted
		}
		return []int{1, 2}, nil
	})
	if err != nil || len(got) != 2 || calls != 3 {
		t.Fatalf("got %v, %v after %d calls; want [1 2] after 3", got, err, calls)
	}
	_, err = dump(func() ([]int, error) { return nil, netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) {
		t.Fatalf("always interrupted: %v", err)
	}
	boom := errors.New("boom")
	if _, err := dump(func() ([]int, error) { return nil, boom }); err != boom {
		t.Fatalf("another error: %v", err)
	}
}
