package loadgen

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
)

// Result is what a run did.
type Result struct {
	// The run's settings, after defaults.
	Target      string
	TCP         bool
	Listener    string // host:port of the target
	Open        bool
	Rate        float64
	Concurrency int
	KeepAlive   bool
	Requests    int64
	Duration    time.Duration
	Timeout     time.Duration

	// Start is when the run started; Elapsed runs from there to the end of
	// the last request. Interrupted is set when the context ended.
	Start       time.Time
	Elapsed     time.Duration
	Interrupted bool

	// The accounting: Sent = Completed + Failed + TimedOut + Cancelled.
	Sent, Completed, Failed, TimedOut, Cancelled int64
	// Statuses counts the answers by HTTP status; Errors the requests
	// without a complete answer by class (refused, reset, timeout,
	// protocol, cancelled, other).
	Statuses map[int]int64
	Errors   map[string]int64
	// Backends counts the answers by X-Backend header (or TCP greeting).
	Backends map[string]int64
	// Latency holds the latency of every answer (any status), from the
	// intended send time.
	Latency *history.Latencies
	// Records has one entry per request ordered by end time, when the run
	// recorded them.
	Records []Record
}

// Unaccounted returns Sent minus the four buckets; it is 0.
func (r *Result) Unaccounted() int64 {
	return r.Sent - r.Completed - r.Failed - r.TimedOut - r.Cancelled
}

// OK reports whether every request sent completed with a 2xx or 3xx
// answer (the command's exit status 0).
func (r *Result) OK() bool {
	return r.Sent == r.Completed && r.Unaccounted() == 0
}

// AccountingLine is "sent N = completed A + failed B + timed out C", with
// "+ cancelled D" when the run was interrupted or some were cancelled, and
// "; UNACCOUNTED E" if the buckets do not add up (a bug).
func (r *Result) AccountingLine() string {
	s := fmt.Sprintf("sent %d = completed %d + failed %d + timed out %d", r.Sent, r.Completed, r.Failed, r.TimedOut)
	if r.Interrupted || r.Cancelled > 0 {
		s += fmt.Sprintf(" + cancelled %d", r.Cancelled)
	}
	if u := r.Unaccounted(); u != 0 {
		s += fmt.Sprintf("; UNACCOUNTED %d", u)
	}
	return s
}

// Answered returns the number of requests that got a complete answer.
func (r *Result) Answered() int64 { return int64(r.Latency.N()) }

// RPS returns the requests that ended (not cancelled) per second.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent-r.Cancelled) / r.Elapsed.Seconds()
}

// Percentile returns the latency at percentile p (0..100) of the answers
// (history.Latencies: nearest rank; 0 without answers).
func (r *Result) Percentile(p float64) time.Duration { return r.Latency.Percentile(p) }

func msText(d time.Duration) string {
	ms := float64(d) / 1e6
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.3f ms", ms)
}

// WriteSummary prints the run's summary: the plan, the accounting line,
// the rate, the latency percentiles, the statuses, errors and backends.
func (r *Result) WriteSummary(w io.Writer) {
	loop := fmt.Sprintf("closed loop, %d clients", r.Concurrency)
	if r.Open {
		loop = fmt.Sprintf("open loop at %g req/s, up to %d connections", r.Rate, r.Concurrency)
	}
	ka := "a connection per request"
	if r.KeepAlive {
		ka = "keep-alive"
	}
	var limits []string
	if r.Requests > 0 {
		limits = append(limits, fmt.Sprintf("%d requests", r.Requests))
	}
	if r.Duration > 0 {
		limits = append(limits, r.Duration.String())
	}
	fmt.Fprintf(w, "load %s: %s, %s, %s\n", r.Target, loop, ka, strings.Join(limits, " or "))
	if r.Interrupted {
		fmt.Fprintf(w, "interrupted: %d requests cancelled\n", r.Cancelled)
	}
	fmt.Fprintln(w, r.AccountingLine())
	fmt.Fprintf(w, "elapsed %.3f s, %.0f req/s\n", r.Elapsed.Seconds(), r.RPS())
	if n := r.Answered(); n > 0 {
		fmt.Fprintf(w, "latency from the intended send time, %d answers: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n",
			n, msText(r.Percentile(50)), msText(r.Percentile(90)), msText(r.Percentile(99)),
			msText(r.Percentile(99.9)), msText(r.Latency.Max()))
	}
	if len(r.Statuses) > 0 {
		codes := make([]int, 0, len(r.Statuses))
		for c := range r.Statuses {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%d: %d", c, r.Statuses[c])
		}
		fmt.Fprintf(w, "statuses: %s\n", strings.Join(parts, ", "))
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "errors: %s\n", joinCounts(r.Errors, 0))
	}
	if len(r.Backends) > 0 {
		var total int64
		for _, n := range r.Backends {
			total += n
		}
		fmt.Fprintf(w, "backends: %s\n", joinCounts(r.Backends, total))
	}
}

// joinCounts writes "a 10, b 5" in natural order, with shares of total
// when it is positive.
func joinCounts(m map[string]int64, total int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
		if total > 0 {
			parts[i] += fmt.Sprintf(" (%.1f%%)", 100*float64(m[k])/float64(total))
		}
	}
	return strings.Join(parts, ", ")
}

func round3(f float64) float64 { return math.Round(f*1e3) / 1e3 }

// Metrics returns the run's metrics, as results.json holds them:
// requests_sent, completed, failed, timed_out, cancelled, unaccounted,
// p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms (of the answers, from
// the intended send time), rps, elapsed_s, share_by_backend (share of the
// answers, 0..1), count_by_backend, statuses (answers by status),
// errors_CLASS and errors_STATUS (for each status ≥ 400).
func (r *Result) Metrics() map[string]any {
	m := map[string]any{
		"requests_sent": r.Sent, "completed": r.Completed, "failed": r.Failed, "timed_out": r.TimedOut,
		"cancelled": r.Cancelled, "unaccounted": r.Unaccounted(),
		"rps": math.Round(r.RPS()*10) / 10, "elapsed_s": round3(r.Elapsed.Seconds()),
	}
	if r.Answered() > 0 {
		ms := func(d time.Duration) float64 { return round3(float64(d) / 1e6) }
		m["p50_ms"], m["p90_ms"], m["p99_ms"] = ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99))
		m["p999_ms"] = ms(r.Percentile(99.9))
		m["max_ms"] = ms(r.Latency.Max())
		m["mean_ms"] = ms(r.Latency.Mean())
	}
	var total int64
	for _, n := range r.Backends {
		total += n
	}
	shares, counts := map[string]any{}, map[string]any{}
	for b, n := range r.Backends {
		shares[b] = math.Round(float64(n)/float64(total)*1e4) / 1e4
		counts[b] = n
	}
	m["share_by_backend"], m["count_by_backend"] = shares, counts
	statuses := map[string]any{}
	for c, n := range r.Statuses {
		statuses[strconv.Itoa(c)] = n
		if c >= 400 {
			m["errors_"+strconv.Itoa(c)] = n
		}
	}
	m["statuses"] = statuses
	for class, n := range r.Errors {
		m["errors_"+class] = n
	}
	return m
}

// Event returns a record as a history request event: t is its end, start
// its intended send time, latency the time between (seconds since the
// run's start).
func (r *Result) Event(rec *Record) history.Event {
	return history.Event{T: history.Stamp(rec.End), Kind: history.KindRequest, Client: rec.Client,
		Listener: r.Listener, Backend: rec.Backend, Status: rec.Status, Error: rec.Error,
		Start: history.Stamp(rec.Start), Latency: history.Stamp(rec.End - rec.Start), Resent: rec.Resent}
}

// WriteHistory writes one request event per record, in end order, as
// JSON Lines (the history's file sink).
func (r *Result) WriteHistory(w io.Writer) error {
	out := history.NewWriter(w, history.WriterOptions{})
	for i := range r.Records {
		out.Add(r.Event(&r.Records[i]))
	}
	return out.Close()
}
