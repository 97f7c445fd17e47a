package vrrplinux

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkEvent is a tracked interface whose link went up or down.
type linkEvent struct {
	name string
	up   bool
}

// linkUp reports whether a link counts as up for tracking: administratively
// up and running (it has a carrier), as keepalived's interface tracking
// reads IFF_UP and IFF_RUNNING.
func linkUp(l netlink.Link) bool {
	const want = unix.IFF_UP | unix.IFF_RUNNING
	return l.Attrs().RawFlags&want == want
}

// watchLinks subscribes to the namespace's link changes and sends those of
// the names given to out, until done is closed. It returns once subscribed,
// so that a state read afterwards (linkStates) misses no change.
func (a *agent) watchLinks(names map[string]bool, out chan<- linkEvent) error {
	updates := make(chan netlink.LinkUpdate, 16)
	err := netlink.LinkSubscribeWithOptions(updates, a.done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			// Closing done closes the socket, and the library reports the
			// read that fails then ("Receive failed: use of closed file",
			// or "resource temporarily unavailable" when the close races
			// the read): that is the agent stopping, not an error.
			select {
			case <-a.done:
				return
			default:
			}
			a.logf("link watch: %v", err)
		},
	})
	if err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		// The library closes updates after done closes its socket; until
		// then keep draining, so its goroutine never blocks on a send.
		for u := range updates {
			name := u.Link.Attrs().Name
			if !names[name] {
				continue
			}
			ev := linkEvent{name: name, up: u.Header.Type != unix.RTM_DELLINK && linkUp(u.Link)}
			select {
			case out <- ev:
			case <-a.done:
			}
		}
	}()
	return nil
}

// linkStates reads the current state of each named link.
func linkStates(names map[string]bool) ([]linkEvent, error) {
	var out []linkEvent
	for name := range names {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("track_interface %s: %w", name, err)
		}
		out = append(out, linkEvent{name: name, up: linkUp(l)})
	}
	return out, nil
}
