package history

import "sort"

// chunkLen is how many events a Log keeps per chunk: appending never
// copies more than one chunk, however long the run. The first chunk
// starts at firstChunk events and grows by append's doubling up to
// chunkLen, so a short run (a VRRP lab holds tens of events; a sweep runs
// thousands of them) does not allocate and clear a whole chunk.
const (
	chunkLen   = 4096
	firstChunk = 64
)

// Log collects the events of one run in memory. It is not safe for
// concurrent use: a simulated run has one goroutine, and a real driver
// serialises its writes.
type Log struct {
	chunks [][]Event
	n      int
	sorted bool // every event so far came at or after the one before
	last   Stamp
}

// Add appends an event.
func (l *Log) Add(ev Event) {
	if l.n == 0 {
		l.sorted = true
	} else if ev.T < l.last {
		l.sorted = false
	}
	l.last = ev.T
	switch {
	case len(l.chunks) == 0:
		l.chunks = append(l.chunks, make([]Event, 0, firstChunk))
	case len(l.chunks[len(l.chunks)-1]) == chunkLen:
		l.chunks = append(l.chunks, make([]Event, 0, chunkLen))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, ev)
	l.n++
}

// Len returns how many events the log holds.
func (l *Log) Len() int { return l.n }

// Events returns the events ordered by time; events with equal times keep
// the order in which they were added.
func (l *Log) Events() []Event {
	if len(l.chunks) != 1 {
		all := make([]Event, 0, l.n)
		for _, c := range l.chunks {
			all = append(all, c...)
		}
		l.chunks = [][]Event{all}
	}
	if l.n == 0 {
		return nil
	}
	events := l.chunks[0]
	if !l.sorted {
		sort.SliceStable(events, func(i, j int) bool { return events[i].T < events[j].T })
		l.sorted = true
		// Later Adds compare with the latest event, not the last added.
		l.last = events[len(events)-1].T
	}
	return events
}
