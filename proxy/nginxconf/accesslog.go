package nginxconf

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
)

// LogEntry is one line of an access log written in LogFormat or
// StreamLogFormat (Export): one request (one tcp or udp session) as
// nginx saw it.
type LogEntry struct {
	// End is when nginx logged it ($msec, millisecond precision), since
	// the Unix epoch.
	End time.Duration
	// Elapsed is $request_time ($session_time in stream): from the
	// first byte read from the client to the log, in milliseconds.
	Elapsed time.Duration
	// Status is the status sent to the client ($status; in stream 200
	// for a session that reached a server, 502 when none was reached).
	Status int
	// Client is $remote_addr, Port $server_port (the listener's port).
	Client string
	Port   int
	// Group is $proxy_host: the upstream's name ("" in stream).
	Group string
	// Tries are the servers tried, in order ($upstream_addr, its
	// $upstream_status and $upstream_connect_time): nginx lists every
	// try. A try whose Addr is the upstream's name means no server was
	// left to try.
	Tries []LogTry
	// Stream says the line is a tcp or udp session's.
	Stream bool
}

// LogTry is one try of a request.
type LogTry struct {
	// Addr is the server's address as nginx connected to it (IP:PORT),
	// or the upstream's name when no server could be picked.
	Addr string
	// Status is the try's status: the server's, or 502 (a connection
	// error) or 504 (a timeout) of nginx's own; 0 when unknown (stream).
	Status int
	// Connected says the connection to the server was made
	// ($upstream_connect_time has a value).
	Connected bool
}

// maxLogLine bounds one access log line (Export's format writes a few
// hundred bytes).
const maxLogLine = 64 << 10

// ParseLogLine reads one line of an access log in LogFormat or
// StreamLogFormat.
func ParseLogLine(line []byte) (LogEntry, error) {
	if len(line) > maxLogLine {
		return LogEntry{}, i18n.Errorf("a log line of %d bytes (at most %d)", len(line), maxLogLine)
	}
	var raw map[string]string
	if err := json.Unmarshal(line, &raw); err != nil {
		return LogEntry{}, i18n.Errorf("not a log line of lblab's format: %w", err)
	}
	var e LogEntry
	var err error
	if e.End, err = seconds(raw["msec"]); err != nil {
		return LogEntry{}, i18n.Errorf("msec: %w", err)
	}
	if e.Elapsed, err = seconds(raw["request_time"]); err != nil {
		return LogEntry{}, i18n.Errorf("request_time: %w", err)
	}
	if e.Status, err = strconv.Atoi(raw["status"]); err != nil {
		return LogEntry{}, i18n.Errorf("status: %w", err)
	}
	e.Client = raw["remote_addr"]
	e.Port, _ = strconv.Atoi(raw["server_port"])
	e.Group = raw["proxy_host"]
	_, e.Stream = raw["bytes_received"]
	addrs := splitUpstream(raw["upstream_addr"])
	statuses := splitUpstream(raw["upstream_status"])
	connects := splitUpstream(raw["upstream_connect_time"])
	for i, a := range addrs {
		t := LogTry{Addr: a}
		if i < len(statuses) {
			t.Status, _ = strconv.Atoi(statuses[i])
		}
		if i < len(connects) {
			t.Connected = connects[i] != "-" && connects[i] != ""
		}
		e.Tries = append(e.Tries, t)
	}
	return e, nil
}

// splitUpstream splits an $upstream_* value: one item per try, ", "
// between tries of one upstream and " : " where an internal redirect
// moved to another; "-" alone is none.
func splitUpstream(v string) []string {
	if v == "" || v == "-" {
		return nil
	}
	v = strings.ReplaceAll(v, " : ", ", ")
	return strings.Split(v, ", ")
}

// seconds reads nginx's seconds with milliseconds ("1712345678.123",
// "0.004").
func seconds(v string) (time.Duration, error) {
	whole, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || s < 0 || s > 1<<32 || len(frac) > 3 {
		return 0, i18n.Errorf("want seconds with milliseconds, got %q", v)
	}
	ms := 0
	if frac != "" {
		if ms, err = strconv.Atoi(frac + strings.Repeat("0", 3-len(frac))); err != nil || ms < 0 {
			return 0, i18n.Errorf("want seconds with milliseconds, got %q", v)
		}
	}
	return time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond, nil
}
