package nginxconf

import (
	"errors"
	"math"
	"time"
)

var errTime = errors.New("invalid time")

// parseTime reads an nginx time value as ngx_parse_time (src/core/ngx_parse.c)
// does: numbers with units in decreasing order, each unit at most once — y
// (365d), M (30d), w, d, h, m, s, ms — and a trailing bare number counted in
// seconds ("1m30" is 90s). Spaces may follow a unit. With sec (nginx's
// is_sec, used for fail_timeout) the value is in seconds: "ms" is refused and
// y and M are allowed; without it (the msec slots: proxy_connect_timeout,
// proxy_read_timeout, proxy_next_upstream_timeout) "ms" is allowed and y and
// M are refused.
func parseTime(text string, sec bool) (time.Duration, error) {
	const (
		stStart = iota
		stYear
		stMonth
		stWeek
		stDay
		stHour
		stMin
		stSec
		stMsec
		stLast
	)
	const maxInt = math.MaxInt64
	step := stStart
	if !sec {
		step = stMonth
	}
	var value, total int64
	valid := false
	cutoff, cutlim := int64(maxInt/10), int64(maxInt%10)
	for i := 0; i < len(text); {
		c := text[i]
		if c >= '0' && c <= '9' {
			d := int64(c - '0')
			if value >= cutoff && (value > cutoff || d > cutlim) {
				return 0, errTime
			}
			value = value*10 + d
			valid = true
			i++
			continue
		}
		i++
		var max, scale int64
		switch c {
		case 'y':
			if step > stStart {
				return 0, errTime
			}
			step, max, scale = stYear, maxInt/(60*60*24*365), 60*60*24*365
		case 'M':
			if step >= stMonth {
				return 0, errTime
			}
			step, max, scale = stMonth, maxInt/(60*60*24*30), 60*60*24*30
		case 'w':
			if step >= stWeek {
				return 0, errTime
			}
			step, max, scale = stWeek, maxInt/(60*60*24*7), 60*60*24*7
		case 'd':
			if step >= stDay {
				return 0, errTime
			}
			step, max, scale = stDay, maxInt/(60*60*24), 60*60*24
		case 'h':
			if step >= stHour {
				return 0, errTime
			}
			step, max, scale = stHour, maxInt/(60*60), 60*60
		case 'm':
			if i < len(text) && text[i] == 's' {
				if sec || step >= stMsec {
					return 0, errTime
				}
				i++
				step, max, scale = stMsec, maxInt, 1
				break
			}
			if step >= stMin {
				return 0, errTime
			}
			step, max, scale = stMin, maxInt/60, 60
		case 's':
			if step >= stSec {
				return 0, errTime
			}
			step, max, scale = stSec, maxInt, 1
		case ' ':
			if step >= stSec {
				return 0, errTime
			}
			step, max, scale = stLast, maxInt, 1
		default:
			return 0, errTime
		}
		if step != stMsec && !sec {
			scale *= 1000
			max /= 1000
		}
		if value > max {
			return 0, errTime
		}
		value *= scale
		if total > maxInt-value {
			return 0, errTime
		}
		total += value
		value = 0
		for i < len(text) && text[i] == ' ' {
			i++
		}
	}
	if !valid {
		return 0, errTime
	}
	if !sec {
		if value > maxInt/1000 {
			return 0, errTime
		}
		value *= 1000
	}
	if total > maxInt-value {
		return 0, errTime
	}
	total += value
	// nginx keeps seconds or milliseconds; a time.Duration holds about 292
	// years of nanoseconds.
	unit := time.Millisecond
	if sec {
		unit = time.Second
	}
	if total > maxInt/int64(unit) {
		return 0, errTime
	}
	return time.Duration(total) * unit, nil
}
