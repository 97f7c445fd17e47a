package history

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// AppendJSON appends ev as one line of a history: the JSON object
// encoding/json writes for an Event without HTML escaping (fields in the
// struct's order, unset ones left out), then a newline. It is the one
// encoder of the history: every writer (the simulator's file, the proxy,
// the VRRP agent, the load generator) goes through it. Plain ASCII names
// are copied without allocating; any other string is escaped by
// encoding/json, so the bytes are always encoding/json's.
func AppendJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"t":`...)
	b = ev.T.appendSeconds(b)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(ev.Kind))
	b = appendStrs(b, "fault", ev.Fault, "target", ev.Target, "name", ev.Name, "router", ev.Router, "instance", ev.Instance)
	b = appendInt(b, "vrid", int64(ev.VRID))
	b = appendStrs(b, "from", ev.From, "to", ev.To)
	b = appendInt(b, "priority", int64(ev.Priority))
	b = appendStrs(b, "vip", ev.VIP, "owner", ev.Owner, "holders", ev.Holders, "prev", ev.Prev, "src", ev.Src, "dst", ev.Dst, "probe", ev.Probe)
	if ev.OK != nil {
		b = append(appendKey(b, "ok"), strconv.FormatBool(*ev.OK)...)
	}
	b = appendStrs(b, "answer", ev.Answer)
	b = appendStamp(b, "rtt", ev.RTT)
	b = appendStrs(b, "path", ev.Path, "rule", ev.Rule)
	b = appendStrs(b, "client", ev.Client, "listener", ev.Listener, "group", ev.Group, "backend", ev.Backend)
	b = appendInt(b, "status", int64(ev.Status))
	b = appendStrs(b, "error", ev.Error)
	b = appendStamp(appendStamp(b, "start", ev.Start), "latency", ev.Latency)
	b = appendInt(b, "tries", int64(ev.Tries))
	b = appendStrs(b, "resent", ev.Resent, "server", ev.Server, "counter", ev.Counter)
	if ev.Count != 0 {
		b = strconv.AppendUint(appendKey(b, "count"), ev.Count, 10)
	}
	b = appendStrs(b, "reason", ev.Reason)
	return append(b, '}', '\n')
}

// appendKey appends `,"key":`.
func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendStrs appends string fields given as key, value pairs, each
// unless its value is empty (omitempty).
func appendStrs(b []byte, kv ...string) []byte {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			b = appendString(appendKey(b, kv[i]), kv[i+1])
		}
	}
	return b
}

// appendInt appends an integer field, unless it is 0 (omitempty).
func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(appendKey(b, key), v, 10)
}

// appendStamp appends a stamp field, unless it is 0 (omitempty).
func appendStamp(b []byte, key string, v Stamp) []byte {
	if v == 0 {
		return b
	}
	return v.appendSeconds(appendKey(b, key))
}

// appendString appends s as a JSON string: printable ASCII other than
// the quote and the backslash is copied; anything else is escaped by
// encoding/json (without HTML escaping), so that the bytes are its.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
