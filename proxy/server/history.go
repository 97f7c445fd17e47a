package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
)

// historyFlush is how often the history buffer goes to the file: a proxy
// killed without a chance to flush (SIGKILL, a crash) loses the events of
// at most the last historyFlush.
const historyFlush = time.Second

// historyBuffer is the size of the history buffer, in bytes.
const historyBuffer = 256 << 10

// historyWriter writes events as JSON Lines (the form of
// history.WriteJSONL) into a buffer behind a mutex: a request costs an
// append to memory; the buffer goes to the file when the next line does
// not fit, every historyFlush, and on close. Every write to the file ends
// at the end of a line, so a proxy killed at any moment leaves whole
// lines (but for a kill in the middle of the write itself).
type historyWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	line []byte
	err  error
	stop chan struct{}
	done chan struct{}
}

func newHistoryWriter(w io.Writer) *historyWriter {
	h := &historyWriter{w: bufio.NewWriterSize(w, historyBuffer), stop: make(chan struct{}), done: make(chan struct{})}
	go h.flusher()
	return h
}

func (h *historyWriter) flusher() {
	defer close(h.done)
	t := time.NewTicker(historyFlush)
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

// add writes one event.
func (h *historyWriter) add(ev *history.Event) {
	if ev.Kind == history.KindRequest {
		h.addRequest(ev)
		return
	}
	b, err := marshalNoHTML(ev)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writeLine(append(b, '\n'))
}

// writeLine buffers one line, flushing first what is buffered when the
// line does not fit (a bufio.Writer would fill the buffer with the line's
// beginning and write that). Called with h.mu held.
func (h *historyWriter) writeLine(line []byte) {
	if h.err != nil {
		return
	}
	if len(line) > h.w.Available() && h.w.Buffered() > 0 {
		if h.err = h.w.Flush(); h.err != nil {
			return
		}
	}
	_, h.err = h.w.Write(line)
}

// addRequest writes a request event without allocating.
func (h *historyWriter) addRequest(ev *history.Event) {
	h.mu.Lock()
	if h.err == nil {
		h.line = appendRequest(h.line[:0], ev)
		h.writeLine(h.line)
	}
	h.mu.Unlock()
}

// close flushes what is buffered and stops the flusher.
func (h *historyWriter) close() error {
	close(h.stop)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.err = h.w.Flush()
	}
	return h.err
}

// appendRequest appends a request event as encoding/json writes it
// (history.Event's field order, omitempty), and a newline.
func appendRequest(b []byte, ev *history.Event) []byte {
	b = append(b, `{"t":`...)
	b, _ = appendStamp(b, ev.T)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(ev.Kind))
	str := func(b []byte, key, v string) []byte {
		if v == "" {
			return b
		}
		b = append(append(append(b, ',', '"'), key...), '"', ':')
		return appendString(b, v)
	}
	stamp := func(b []byte, key string, v history.Stamp) []byte {
		if v == 0 {
			return b
		}
		b = append(append(append(b, ',', '"'), key...), '"', ':')
		b, _ = appendStamp(b, v)
		return b
	}
	b = str(b, "client", ev.Client)
	b = str(b, "listener", ev.Listener)
	b = str(b, "group", ev.Group)
	b = str(b, "backend", ev.Backend)
	if ev.Status != 0 {
		b = strconv.AppendInt(append(b, `,"status":`...), int64(ev.Status), 10)
	}
	b = str(b, "error", ev.Error)
	b = stamp(b, "start", ev.Start)
	b = stamp(b, "latency", ev.Latency)
	if ev.Tries != 0 {
		b = strconv.AppendInt(append(b, `,"tries":`...), int64(ev.Tries), 10)
	}
	b = str(b, "server", ev.Server)
	b = str(b, "reason", ev.Reason)
	return append(b, '}', '\n')
}

// appendStamp appends a stamp as history.Stamp.MarshalJSON writes it:
// seconds with the exact nanoseconds and no trailing zeros.
func appendStamp(b []byte, s history.Stamp) ([]byte, error) {
	ns := int64(s)
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1e9, 10)
	frac := ns % 1e9
	if frac == 0 {
		return b, nil
	}
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...), nil
}

// appendString appends s as a JSON string; plain printable ASCII is
// copied, anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			m, _ := marshalNoHTML(s)
			return append(b, m...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// marshalNoHTML is json.Marshal without HTML escaping (as WriteJSONL
// writes), without the trailing newline.
func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
