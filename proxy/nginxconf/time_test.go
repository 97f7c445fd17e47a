package nginxconf

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	const bad = time.Duration(-1)
	tests := []struct {
		in   string
		msec time.Duration // proxy_*_timeout (ngx_parse_time is_sec=0)
		sec  time.Duration // fail_timeout (is_sec=1)
	}{
		{"10", 10 * time.Second, 10 * time.Second},
		{"0", 0, 0},
		{"10s", 10 * time.Second, 10 * time.Second},
		{"500ms", 500 * time.Millisecond, bad},
		{"1m", time.Minute, time.Minute},
		{"1h", time.Hour, time.Hour},
		{"1m30s", 90 * time.Second, 90 * time.Second},
		{"1m30", 90 * time.Second, 90 * time.Second},
		{"1h 30m", 90 * time.Minute, 90 * time.Minute},
		{"1s500ms", 1500 * time.Millisecond, bad},
		{"2d", 48 * time.Hour, 48 * time.Hour},
		{"1w", 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"1M", bad, 30 * 24 * time.Hour},
		{"1y", bad, 365 * 24 * time.Hour},
		{"30s1m", bad, bad}, // units must decrease
		{"1m1m", bad, bad},  // each unit once
		{"1ms1s", bad, bad}, // ms is the smallest unit
		{"", bad, bad},      // no digits
		{"s", bad, bad},     // no digits
		{"abc", bad, bad},   // not a unit
		{"10S", bad, bad},   // units are case-sensitive
		{"-1s", bad, bad},   // no sign
		{"1.5s", bad, bad},  // no fractions
		{"9223372036854775808", bad, bad},
		{"300y", bad, bad}, // beyond time.Duration
	}
	for _, tt := range tests {
		for _, mode := range []struct {
			sec  bool
			want time.Duration
		}{{false, tt.msec}, {true, tt.sec}} {
			got, err := parseTime(tt.in, mode.sec)
			if mode.want == bad {
				if err == nil {
					t.Errorf("parseTime(%q, sec=%v) = %v, want an error", tt.in, mode.sec, got)
				}
				continue
			}
			if err != nil || got != mode.want {
				t.Errorf("parseTime(%q, sec=%v) = %v, %v; want %v", tt.in, mode.sec, got, err, mode.want)
			}
		}
	}
}
