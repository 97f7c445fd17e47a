package server

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// writeLog records each Write the history writer makes.
type writeLog struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (w *writeLog) all() ([][]byte, []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.writes...), bytes.Join(w.writes, nil)
}

// Every write to the history file ends at the end of a line, so a proxy
// killed between two writes leaves only whole lines; lines longer than
// the buffer go out whole too.
func TestHistoryWritesWholeLines(t *testing.T) {
	w := &writeLog{}
	h := newHistory(w)
	const n = 5000 // about 4 buffers of request lines
	for i := range n {
		ev := history.Event{T: history.Stamp(i) * 1e6, Kind: history.KindRequest, Client: "127.0.0.1",
			Listener: "http:8080", Group: "web", Backend: "127.0.0.1:9001", Status: 200,
			Start: history.Stamp(i) * 1e6, Latency: 1234567, Tries: 1}
		if i == n/2 {
			ev.Reason = string(bytes.Repeat([]byte("r"), historyBuffer+100)) // a line longer than the buffer
		}
		h.Add(ev)
		if i%1000 == 0 {
			h.Add(history.Event{T: history.Stamp(i) * 1e6, Kind: history.KindHealth, Group: "web",
				Server: "127.0.0.1:9001", From: "up", To: "down", Reason: "checks"})
		}
	}
	writes, _ := w.all()
	if len(writes) < 3 {
		t.Fatalf("%d writes before close, want the buffer to have gone out several times", len(writes))
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	writes, file := w.all()
	for i, p := range writes {
		if len(p) == 0 || p[len(p)-1] != '\n' {
			t.Fatalf("write %d of %d (%d bytes) ends inside a line: %q", i+1, len(writes), len(p), p[max(0, len(p)-40):])
		}
	}
	evs, err := history.ReadJSONL(bytes.NewReader(file), "history")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n+n/1000 {
		t.Fatalf("%d events, want %d", len(evs), n+n/1000)
	}
}

// An event reaches the file within historyFlush without further events
// or a close: a proxy killed a second after its last request has written
// it.
func TestHistoryFlushedEverySecond(t *testing.T) {
	w := &writeLog{}
	h := newHistory(w)
	defer h.Close()
	h.Add(history.Event{T: 1, Kind: history.KindRequest, Status: 200})
	added := time.Now()
	// The ticker fires within historyFlush; the slack is for a loaded
	// machine that runs the flusher late.
	waitFor(t, historyFlush+2*time.Second, "the event in the file", func() bool {
		_, file := w.all()
		return bytes.Contains(file, []byte(`"status":200`))
	})
	t.Logf("flushed %v after the event", time.Since(added).Round(time.Millisecond))
}
