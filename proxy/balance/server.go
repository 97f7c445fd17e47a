package balance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseServer parses the arguments of an nginx upstream `server` directive,
// e.g. "10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=30s max_conns=100
// backup", starting from nginx's defaults (see NewServer). As in nginx
// (ngx_http_upstream_server) weight must be >= 1 and fail_timeout is in
// seconds with nginx's units (s, m, h, d, w, M, y; no unit = seconds; "ms"
// is rejected). A trailing ';' is ignored.
func ParseServer(line string) (Server, error) {
	f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
	if len(f) == 0 {
		return Server{}, fmt.Errorf("balance: empty server line")
	}
	s := NewServer(f[0])
	for _, a := range f[1:] {
		var err error
		switch {
		case strings.HasPrefix(a, "weight="):
			s.Weight, err = strconv.Atoi(a[7:])
			if err == nil && s.Weight < 1 {
				err = fmt.Errorf("must be >= 1")
			}
		case strings.HasPrefix(a, "max_fails="):
			s.MaxFails, err = strconv.Atoi(a[10:])
			if err == nil && s.MaxFails < 0 {
				err = fmt.Errorf("must be >= 0")
			}
		case strings.HasPrefix(a, "max_conns="):
			s.MaxConns, err = strconv.Atoi(a[10:])
			if err == nil && s.MaxConns < 0 {
				err = fmt.Errorf("must be >= 0")
			}
		case strings.HasPrefix(a, "fail_timeout="):
			s.FailTimeout, err = parseSeconds(a[13:])
		case a == "backup":
			s.Backup = true
		case a == "down":
			s.Down = true
		default:
			err = fmt.Errorf("unknown parameter")
		}
		if err != nil {
			return Server{}, fmt.Errorf("balance: server %q: invalid parameter %q: %v", f[0], a, err)
		}
	}
	return s, nil
}

// parseSeconds is ngx_parse_time(s, 1) for the usual forms: a sequence of
// numbers with units y M w d h m s (descending), a bare number being
// seconds.
func parseSeconds(v string) (time.Duration, error) {
	units := map[byte]time.Duration{
		'y': 365 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'w': 7 * 24 * time.Hour,
		'd': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second,
	}
	if v == "" {
		return 0, fmt.Errorf("empty time")
	}
	var total time.Duration
	for v != "" {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad time")
		}
		n, err := strconv.Atoi(v[:i])
		if err != nil {
			return 0, err
		}
		v = v[i:]
		u := time.Second
		if v != "" {
			var ok bool
			if u, ok = units[v[0]]; !ok || strings.HasPrefix(v, "ms") {
				return 0, fmt.Errorf("bad time unit")
			}
			v = v[1:]
		}
		total += time.Duration(n) * u
	}
	return total, nil
}

// String returns s as the arguments of an nginx `server` directive, e.g.
// "10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=30s backup". Every
// numeric parameter is written, so the line means the same in nginx as s
// does here (weight=0 excepted: nginx rejects it).
func (s Server) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s weight=%d max_fails=%d fail_timeout=%ds", s.Name, s.Weight, s.MaxFails, int64(s.FailTimeout/time.Second))
	if s.MaxConns != 0 {
		fmt.Fprintf(&b, " max_conns=%d", s.MaxConns)
	}
	if s.Backup {
		b.WriteString(" backup")
	}
	if s.Down {
		b.WriteString(" down")
	}
	return b.String()
}
