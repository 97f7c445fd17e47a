package history

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Sink receives the events of a run as they happen. The sinks are Log
// (in memory), Writer (JSON Lines to a file) and Tee (several at once);
// the checks and the report consume the same events through it.
type Sink interface {
	// Add records one event.
	Add(ev Event)
}

// Tee is a sink that passes every event to each of its sinks, in order.
type Tee []Sink

// Add passes ev to every sink.
func (t Tee) Add(ev Event) {
	for _, s := range t {
		s.Add(ev)
	}
}

// defaultBuffer is a Writer's buffer when WriterOptions.Buffer is 0, in
// bytes.
const defaultBuffer = 256 << 10

// WriterOptions tunes a Writer.
type WriterOptions struct {
	// Buffer is the size of the buffer in bytes (0: 256 KiB). A line that
	// does not fit in what is left goes after what is buffered is
	// written, so every write to the file ends at the end of a line.
	Buffer int
	// FlushEvery, when positive, writes what is buffered at this period
	// (a writer killed without a chance to close loses the events of at
	// most that long). 0: only when the buffer is full and on Close.
	FlushEvery time.Duration
	// EveryLine writes each event as it is added, in one Write of one
	// whole line (a VRRP agent killed at any moment leaves whole lines
	// but for the one being written). The buffer is then not used.
	EveryLine bool
}

// Writer is the file sink: it writes each event as one JSON line
// (AppendJSON) into a buffer and the buffer to an io.Writer. It is safe
// for concurrent use (the real proxy's connections add to one history).
// Adding a request event does not allocate.
type Writer struct {
	mu    sync.Mutex
	out   io.Writer
	w     *bufio.Writer // nil with EveryLine
	line  []byte
	err   error
	stop  chan struct{} // nil without FlushEvery
	done  chan struct{}
	close sync.Once
}

// NewWriter returns a sink writing to w. Close it to write what is
// buffered; it does not close w.
func NewWriter(w io.Writer, opt WriterOptions) *Writer {
	h := &Writer{out: w}
	if !opt.EveryLine {
		size := opt.Buffer
		if size <= 0 {
			size = defaultBuffer
		}
		h.w = bufio.NewWriterSize(w, size)
	}
	if opt.FlushEvery > 0 && !opt.EveryLine {
		h.stop, h.done = make(chan struct{}), make(chan struct{})
		go h.flusher(opt.FlushEvery)
	}
	return h
}

func (h *Writer) flusher(every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.mu.Lock()
			if h.err == nil {
				h.err = h.w.Flush()
			}
			h.mu.Unlock()
		}
	}
}

// Add writes one event; after the first error (kept for Err and Close)
// events are dropped.
func (h *Writer) Add(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	h.line = AppendJSON(h.line[:0], &ev)
	if h.w == nil {
		_, h.err = h.out.Write(h.line)
		return
	}
	if len(h.line) > h.w.Available() && h.w.Buffered() > 0 {
		if h.err = h.w.Flush(); h.err != nil {
			return
		}
	}
	_, h.err = h.w.Write(h.line)
}

// Err returns the first error writing, or nil.
func (h *Writer) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Close stops the periodic flush and writes what is buffered. It
// returns the first error writing, or nil. Adding after Close is
// allowed (an EveryLine writer still writes; a buffered one buffers
// until the next Close).
func (h *Writer) Close() error {
	h.close.Do(func() {
		if h.stop != nil {
			close(h.stop)
			<-h.done
		}
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil && h.w != nil {
		h.err = h.w.Flush()
	}
	return h.err
}
