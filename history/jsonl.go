package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// MarshalJSON writes the stamp as seconds with its exact nanoseconds and no
// trailing zeros: 10.609375, 3, -0.5.
func (s Stamp) MarshalJSON() ([]byte, error) {
	return s.appendSeconds(nil), nil
}

func (s Stamp) appendSeconds(b []byte) []byte {
	ns := int64(s)
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1e9, 10)
	frac := ns % 1e9
	if frac == 0 {
		return b
	}
	var digits [9]byte // zero-padded, on the stack
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// UnmarshalJSON reads seconds written by MarshalJSON (or any JSON number)
// back to nanoseconds, exactly for up to nine decimals.
func (s *Stamp) UnmarshalJSON(data []byte) error {
	text := strings.TrimSpace(string(data))
	neg := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")
	whole, frac, _ := strings.Cut(text, ".")
	if strings.ContainsAny(text, "eE") || len(frac) > 9 {
		f, err := strconv.ParseFloat(string(data), 64)
		if err != nil {
			return fmt.Errorf("time stamp %q: %w", data, err)
		}
		*s = Stamp(time.Duration(f * 1e9))
		return nil
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return fmt.Errorf("time stamp %q: not a number of seconds", data)
	}
	var f int64
	if frac != "" {
		f, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return fmt.Errorf("time stamp %q: not a number of seconds", data)
		}
	}
	ns := w*1e9 + f
	if neg {
		ns = -ns
	}
	*s = Stamp(ns)
	return nil
}

// WriteJSONL writes events to w, one JSON object a line (AppendJSON), in
// the order given.
func WriteJSONL(w io.Writer, events []Event) error {
	out := NewWriter(w, WriterOptions{})
	for i := range events {
		out.Add(events[i])
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// ReadJSONL reads a history written by WriteJSONL. name is used in errors,
// which give the line number of the bad line.
//
// A last line that has no line end and does not decode is the line a
// killed writer (SIGKILL, a crash fault) was cut in the middle of: it is
// dropped with a warning naming the file, and the events before it are
// returned. A bad line anywhere else, or a bad last line that is
// terminated, is an error.
func ReadJSONL(r io.Reader, name string) ([]Event, error) {
	var events eventList
	if err := ReadJSONLTo(r, name, &events); err != nil {
		return nil, err
	}
	return events, nil
}

// eventList is a sink that appends to a slice.
type eventList []Event

func (l *eventList) Add(ev Event) { *l = append(*l, ev) }

// ReadJSONLTo reads a history as ReadJSONL does and passes each event to
// sink as it is read, in the file's order, so that reading does not hold
// the history. After an error sink has seen the events before the bad
// line.
func ReadJSONLTo(r io.Reader, name string, sink Sink) error {
	br := bufio.NewReaderSize(r, 64*1024)
	line := 0
	for {
		raw, rerr := readLine(br, 16*1024*1024)
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("%s:%d: %w", name, line+1, rerr)
		}
		if len(raw) == 0 && rerr == io.EOF {
			return nil
		}
		line++
		terminated := len(raw) > 0 && raw[len(raw)-1] == '\n'
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 {
			var ev Event
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				if !terminated && rerr == io.EOF {
					slog.Warn("history: the last line was cut (its writer was killed while writing it); it is left out",
						"file", name, "line", line, "bytes", len(raw))
					return nil
				}
				return fmt.Errorf("%s:%d: %w", name, line, err)
			}
			sink.Add(ev)
		}
		if rerr == io.EOF {
			return nil
		}
	}
}

// readLine reads one line with its line end, at most max bytes of it.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		out = append(out, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return out, err
	}
}
