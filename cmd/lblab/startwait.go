package main

import (
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// dirWatch wakes a waiter for a file when an entry of the file's folder
// is created, renamed into it or written (inotify), instead of a poll
// every startFilePoll: the agents and probes wait for the start file
// under the real-time policy (chrt --rr 1), and a dozen of them polling
// every millisecond took the CPU from the proxies that must get ready
// before it is written (ha-pair-nginx-dies: six agents, six proxies not
// ready after 10 s on a loaded 2-core machine).
type dirWatch struct{ fd int }

// watchFileDir watches the folder of path; nil when inotify is not
// available (the waiter then polls).
func watchFileDir(path string) *dirWatch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil
	}
	return &dirWatch{fd: fd}
}

// wait returns when the folder changed or after d (at most), with the
// changes read. A nil watch sleeps startFilePoll.
func (w *dirWatch) wait(d time.Duration) {
	if w == nil {
		time.Sleep(startFilePoll)
		return
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, int(max(d/time.Millisecond, 1))) // EINTR: the caller looks again
	var buf [4096]byte
	for {
		if n, err := unix.Read(w.fd, buf[:]); n <= 0 || err != nil {
			return
		}
	}
}

// close ends the watch.
func (w *dirWatch) close() {
	if w != nil {
		unix.Close(w.fd)
	}
}
