package server

import (
	"io"
	"time"

	"github.com/lblab/lblab/history"
)

// historyFlush is how often the proxy's history goes to the file: a proxy
// killed without a chance to flush (SIGKILL, a crash) loses the events of
// at most the last historyFlush.
const historyFlush = time.Second

// historyBuffer is the size of the history buffer, in bytes.
const historyBuffer = 256 << 10

// newHistory returns the proxy's history: the file sink, buffered, a
// request an append to memory, written every historyFlush and on close,
// each write ending at the end of a line.
func newHistory(w io.Writer) *history.Writer {
	return history.NewWriter(w, history.WriterOptions{Buffer: historyBuffer, FlushEvery: historyFlush})
}
