package main

import (
	"strings"
	"testing"
)

// TestProbeRefusesBadFlags: every bad probe flag exits 2 with one line
// naming the flag and the field, in English and in Chinese, before any
// socket is opened.
func TestProbeRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "want at least one --probe"},
		{[]string{"--probe", "udp:10.0.0.1:53"}, `--probe "udp:10.0.0.1:53": want icmp:ADDR or tcp:ADDR:PORT`},
		{[]string{"--probe", "10.0.0.1"}, "want icmp:ADDR or tcp:ADDR:PORT"},
		{[]string{"--probe", "icmp:10.0.0.1:80"}, "to: an icmp probe goes to an IPv4 address"},
		{[]string{"--probe", "tcp:10.0.0.1"}, "to: a tcp probe goes to IPV4:PORT"},
		{[]string{"--probe", "tcp:10.0.0.1:0"}, "to: want a port from 1 to 65535"},
		{[]string{"--probe", "icmp:10.0.0.1", "--interval", "1ms"}, "interval: want from 10ms to 1h0m0s, got 1ms"},
		{[]string{"--probe", "icmp:10.0.0.1", "--timeout", "61s"}, "timeout: want from 1ms to 1m0s, got 1m1s"},
		{[]string{"--probe", "icmp:10.0.0.1", "--timeout", "0"}, "--interval and --timeout must be positive"},
		{[]string{"--probe", "icmp:10.0.0.1", "--from", "a b"}, "from: want printable characters without spaces"},
		{[]string{"--probe", "icmp:10.0.0.1", "--icmp-socket", "raw"}, `--icmp-socket: want ip4:icmp or udp4, got "raw"`},
		{[]string{"--probe", "icmp:10.0.0.1", "--phase", "-1s"}, "--phase must not be negative"},
	} {
		code, _, stderr := lblab(t, append([]string{"probe"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.says) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("lblab probe %s: status %d, stderr %q; want 2 and one line saying %q", strings.Join(tc.args, " "), code, stderr, tc.says)
		}
		code, _, zh := lblab(t, append([]string{"probe", "--lang", "zh"}, tc.args...)...)
		if code != 2 || zh == stderr || !strings.ContainsFunc(zh, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("lblab probe --lang zh %s: status %d, %q: want Chinese", strings.Join(tc.args, " "), code, zh)
		}
	}
}
