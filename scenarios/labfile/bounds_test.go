package labfile

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// failoverWith returns the vrrp-failover lab with faults (YAML list items,
// indented by two spaces) after its own fault.
func failoverWith(t testing.TB, faults string) string {
	t.Helper()
	src, err := catalogSource("vrrp-failover")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i, j := strings.Index(s, "\nfaults:\n"), strings.Index(s, "\nexpect:\n")+1
	if i < 0 || j < i {
		t.Fatal("vrrp-failover has no faults section before expect: update the test")
	}
	return s[:j] + faults + s[j:]
}

// cost runs f and returns the CPU time of the process (user and system)
// and the bytes allocated while it ran.
func cost(t testing.TB, f func()) (cpu time.Duration, alloc uint64) {
	t.Helper()
	var r0, r1 syscall.Rusage
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r0); err != nil {
		t.Fatal(err)
	}
	f()
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r1); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	tv := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return tv(r1) - tv(r0), m1.TotalAlloc - m0.TotalAlloc
}

// parseErr parses src and returns its Errors, failing the test when it
// parses or fails otherwise.
func parseErr(t *testing.T, src string) Errors {
	t.Helper()
	_, err := Parse("lab.yaml", []byte(src), nil)
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("want Errors, got %v", err)
	}
	return es
}

// Before the bounds, validating 4000 faults took 70 s: every duration
// re-formatted the whole file (quadratic). The test asks for what the
// bound is about, and what the machine's load does not change: twice the
// faults cost at most about twice the CPU (the least of three parses of
// each size, compared: 4 when quadratic) and twice the memory; and, as a
// guard against a hang, far less CPU than the 70 s. (An absolute bound of
// 1 s, 0.43 to 0.76 s here on an idle machine, was exceeded at 1.15 s by
// a CI run's other packages.)
func TestParseTenThousandFaultsIsLinear(t *testing.T) {
	lab := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "  - {name: f%d, at: %dms, kind: %s, target: r%d}\n",
				i, 1000+i, []string{"stop", "start"}[i%2], 1+i%2)
		}
		return failoverWith(t, b.String())
	}
	parse := func(n int) (time.Duration, uint64) {
		src := lab(n)
		if len(src) > MaxFileSize {
			t.Fatalf("the lab is %d bytes, above MaxFileSize", len(src))
		}
		least, alloc := time.Duration(math.MaxInt64), uint64(0)
		for range 3 {
			var parsed *Lab
			cpu, a := cost(t, func() {
				var err error
				if parsed, err = Parse("big.yaml", []byte(src), nil); err != nil {
					t.Fatal(err)
				}
			})
			if len(parsed.Faults) != n+1 {
				t.Fatalf("%d faults, want %d", len(parsed.Faults), n+1)
			}
			least, alloc = min(least, cpu), a
		}
		t.Logf("%d faults (%d KB): %v CPU at least, %d MB allocated", n, len(src)>>10, least, alloc>>20)
		return least, alloc
	}
	cpu5, alloc5 := parse(5_000)
	cpu10, alloc10 := parse(10_000)
	if r := float64(cpu10) / float64(cpu5); r > 3 {
		t.Errorf("10000 faults took %.2f times the CPU of 5000 (%v, %v), want at most 3 (linear: 2)", r, cpu10, cpu5)
	}
	if r := float64(alloc10) / float64(alloc5); r > 2.5 {
		t.Errorf("10000 faults allocated %.2f times what 5000 did (%d MB, %d MB), want at most 2.5", r, alloc10>>20, alloc5>>20)
	}
	if cpu10 > 10*time.Second || alloc10 > 1<<30 {
		t.Errorf("validating 10000 faults took %v of CPU and %d MB, want under 10 s and 1 GB", cpu10, alloc10>>20)
	}
	// 13,000 faults, 2,999 of them past the end of the lab: every problem
	// is placed in one walk of the file, and 50 are listed.
	var es Errors
	cpu, _ := cost(t, func() { es = parseErr(t, strings.ReplaceAll(lab(13_000), "duration: 20s", "duration: 11s")) })
	t.Logf("13000 faults, 2999 of them bad: %v CPU", cpu)
	if len(es) != maxErrors+1 || es[maxErrors].Msg != "and 2949 more problems" {
		t.Errorf("%d errors, the last %v; want %d and a count of the rest", len(es), es[len(es)-1], maxErrors+1)
	}
	if cpu > 10*time.Second {
		t.Errorf("placing 2999 problems took %v of CPU, want under 10 s", cpu)
	}
}

// A file of nested flow lists took 2.5 GB and 22 s at 80 KB, and ran out of
// memory at 200 KB; nested block mappings and flow mappings too. Each is
// refused at the level past MaxDepth, with its line and column, cheaply.
func TestParseRefusesDeepNesting(t *testing.T) {
	n := 100_000
	block := func(depth int) string {
		var b strings.Builder
		for i := range depth {
			fmt.Fprintf(&b, "%sk:\n", strings.Repeat(" ", i))
		}
		return b.String()
	}
	for _, c := range []struct {
		name, src string
		line, col int
	}{
		{"flow lists", "name: x\nfaults: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n", 2, 9 + MaxDepth - 1},
		{"flow mappings", "name: x\nfaults: " + strings.Repeat("{a: ", n) + strings.Repeat("}", n) + "\n", 2, 9 + 4*(MaxDepth-1)},
		{"block mappings", block(2 * MaxDepth), MaxDepth + 1, MaxDepth + 1},
		{"lists in a mapping", "a:\n" + strings.Repeat("- ", n) + "x\n", 2, 2*MaxDepth - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var es Errors
			cpu, alloc := cost(t, func() { es = parseErr(t, c.src) })
			t.Logf("%d bytes: %v CPU, %d MB allocated: %v", len(c.src), cpu, alloc>>20, es)
			e := es[0]
			if len(es) != 1 || !strings.Contains(e.Msg, fmt.Sprintf("nest deeper than %d levels", MaxDepth)) {
				t.Fatalf("want one error about the nesting, got %v", es)
			}
			if e.Line != c.line || e.Column != c.col {
				t.Errorf("at %d:%d, want %d:%d", e.Line, e.Column, c.line, c.col)
			}
			if cpu > 2*time.Second || alloc > 256<<20 {
				t.Errorf("refusing it cost %v of CPU and %d MB, want under 2s and 256 MB", cpu, alloc>>20)
			}
		})
	}
	// Brackets in text are not nesting: a teaching of 100 of them parses.
	src := strings.Replace(failoverWith(t, ""), "teaching: |\n", "teaching: |\n  "+strings.Repeat("[{", 100)+"\n", 1)
	if _, err := Parse("text.yaml", []byte(src), nil); err != nil {
		t.Errorf("brackets in a literal block: %v", err)
	}
	// A lab nesting MaxDepth levels in its partition groups still parses
	// as far as the decoder (which then says a group is not a string).
	_, err := Parse("ok.yaml", []byte("name: x\nfaults: "+strings.Repeat("[", MaxDepth-1)+strings.Repeat("]", MaxDepth-1)+"\n"), nil)
	if err == nil || strings.Contains(err.Error(), "nest deeper") {
		t.Errorf("a file nesting %d levels: %v, want a decoding error, not the depth limit", MaxDepth, err)
	}
}

// A mapping of many keys costs the YAML parser time quadratic in their
// number (328 KB of keys took 3.6 s and 4.5 GB): more than MaxKeys are
// refused at the first key too many.
func TestParseRefusesTooManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: x\nvrrp:\n  vrrp_script:\n")
	for i := 0; b.Len() < MaxFileSize-100; i++ {
		fmt.Fprintf(&b, "    s%d: {interval: 1s}\n", i)
	}
	var es Errors
	cpu, alloc := cost(t, func() { es = parseErr(t, b.String()) })
	t.Logf("%d bytes: %v CPU, %d MB allocated: %v", b.Len(), cpu, alloc>>20, es)
	if len(es) != 1 || !strings.Contains(es[0].Msg, fmt.Sprintf("more than %d keys", MaxKeys)) {
		t.Fatalf("want one error about the keys, got %v", es)
	}
	if es[0].Line != 3+MaxKeys+1 || es[0].Column != 5 {
		t.Errorf("at %d:%d, want %d:5", es[0].Line, es[0].Column, 3+MaxKeys+1)
	}
	if cpu > 2*time.Second || alloc > 512<<20 {
		t.Errorf("refusing it cost %v of CPU and %d MB, want under 2s and 512 MB", cpu, alloc>>20)
	}
	// The worst a file under the limits can do: MaxKeys keys per mapping,
	// mappings up to the token limit (3 a key).
	b.Reset()
	for i := 0; i < MaxTokens/3-2*MaxTokens/3/MaxKeys; i++ {
		if i%MaxKeys == 0 {
			fmt.Fprintf(&b, "m%d:\n", i)
		}
		fmt.Fprintf(&b, " k%d: v\n", i)
	}
	cpu, alloc = cost(t, func() { parseErr(t, b.String()) })
	t.Logf("%d bytes of %d-key mappings: %v CPU, %d MB allocated", b.Len(), MaxKeys, cpu, alloc>>20)
	if cpu > 5*time.Second {
		t.Errorf("the largest file of the largest mappings cost %v of CPU, want under 5s", cpu)
	}
}

// boundsInputs are the worst files of each shape, by name, for
// TestParseCostInAProcess.
var boundsInputs = map[string]func() string{
	// Over MaxTokens: refused at the token past it.
	"flow list":     func() string { return "faults: [" + strings.Repeat("1,", MaxFileSize/2-10) + "]\n" },
	"flow mappings": func() string { return "faults: [" + strings.Repeat("{},", MaxFileSize/3-10) + "]\n" },
	"block list":    func() string { return "faults:\n" + strings.Repeat("- 1\n", MaxFileSize/4-10) },
	"comments":      func() string { return strings.Repeat("#\n", MaxFileSize/2-10) },
	// Under every limit: the most the YAML library is given to decode.
	"flow list under": func() string { return "faults: [" + strings.Repeat("1,", MaxTokens/2-10) + "]\n" },
	"block list under": func() string {
		return "faults:\n" + strings.Repeat("- {}\n", MaxTokens/4-10)
	},
}

// TestParseBoundsChild parses one of boundsInputs when run by
// TestParseCostInAProcess, and prints what Parse said.
func TestParseBoundsChild(t *testing.T) {
	name := os.Getenv("LBLAB_BOUNDS_INPUT")
	if name == "" {
		t.Skip("run by TestParseCostInAProcess")
	}
	_, err := Parse("lab.yaml", []byte(boundsInputs[name]()), nil)
	fmt.Printf("PARSE: %.200v\n", err)
}

// The cost of the worst file of each shape, measured on a process of its
// own (the most memory it held, its CPU time): 4 MiB of "1," took 1.5 GB
// of heap before the limits; 1 MiB of it, 400 MB and 4 s. The files past MaxTokens are refused there.
func TestParseCostInAProcess(t *testing.T) {
	if os.Getenv("LBLAB_BOUNDS_INPUT") != "" {
		t.Skip("the child")
	}
	for name := range boundsInputs {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestParseBoundsChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "LBLAB_BOUNDS_INPUT="+name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			rss := ru.Maxrss >> 10 // KB to MB
			_, said, _ := strings.Cut(string(out), "PARSE: ")
			said, _, _ = strings.Cut(said, "\n")
			t.Logf("%v CPU, %d MB at most: %s", cpu, rss, said)
			if !strings.HasSuffix(name, "under") && !strings.Contains(said, fmt.Sprintf("more than %d YAML tokens", MaxTokens)) {
				t.Errorf("want the tokens refused, got %s", said)
			}
			if rss > 400 || cpu > 5*time.Second {
				t.Errorf("took %v of CPU and %d MB, want under 5s and 400 MB", cpu, rss)
			}
		})
	}
}

// A file above MaxFileSize is refused before it is read whole (a 35 MB
// lab took 7.1 GB and then said "ok"; 50 MB of comments ran for 200 s).
func TestLoadRefusesLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	src := failoverWith(t, "")
	line := "# " + strings.Repeat("a comment ", 10) + "\n"
	src += strings.Repeat(line, (MaxFileSize-len(src))/len(line)+1)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	cpu, alloc := cost(t, func() { _, err = LoadFile(path, nil) })
	var es Errors
	if !errors.As(err, &es) || !strings.Contains(err.Error(), path+": the file is larger than 1 MiB") {
		t.Fatalf("want the size refused, got %v", err)
	}
	if cpu > time.Second || alloc > 64<<20 {
		t.Errorf("refusing it cost %v of CPU and %d MB, want under 1s and 64 MB", cpu, alloc>>20)
	}
	// Parse refuses the same bytes given directly.
	if _, err := Parse("big.yaml", []byte(src), nil); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("Parse: want the size refused, got %v", err)
	}
	// One byte less of comment is read and parsed.
	if _, err := Parse("ok.yaml", []byte(src[:MaxFileSize-len(line)]), nil); err != nil {
		t.Errorf("a lab of just under 1 MiB: %v", err)
	}
}

// Aliases expand without a bound in the decoded lab, and validation
// walks what they expand to: K faults that are one aliased partition of K
// groups, each one aliased list of K hosts, cost K³ (a 12 KB file, 10⁹
// checks). More than MaxNodes values once expanded are refused.
func TestParseRefusesAliasBomb(t *testing.T) {
	const k = 1000
	hosts := "&h [" + strings.TrimSuffix(strings.Repeat("r1, ", k), ", ") + "]"
	groups := "[" + hosts + strings.Repeat(", *h", k-1) + "]"
	fault := "&f {name: p, at: 1s, kind: partition, target: lan, groups: " + groups + "}"
	src := failoverWith(t, "  - "+fault+"\n"+strings.Repeat("  - *f\n", k-1))
	line := strings.Count(src[:strings.Index(src, "&f")], "\n") + 1
	var es Errors
	cpu, alloc := cost(t, func() { es = parseErr(t, src) })
	t.Logf("%d bytes: %v CPU, %d MB: %.300v", len(src), cpu, alloc>>20, es)
	if len(es) != 1 || !strings.Contains(es[0].Msg, "aliases expand to more than") || es[0].Line != line {
		t.Fatalf("want the aliases refused on line %d, got %.500v", line, es)
	}
	if cpu > time.Second {
		t.Errorf("refusing it took %v of CPU", cpu)
	}
}

// Input is quoted at most a line's worth: a 512 KB token gives a short
// message.
func TestErrorsQuoteALineAtMost(t *testing.T) {
	huge := strings.Repeat("x", MaxFileSize/2)
	for _, c := range []struct{ name, old, new, want string }{
		{"bad duration", "duration: 20s", "duration: " + huge, `"xxxxxxxx`},
		{"unknown field", "duration: 20s", huge + ": 1", "unknown field"},
		{"bad value", "priority: 150", "priority: " + huge, "is not a whole number"},
		{"bad target", "target: r1", "target: " + huge, "no host or backend"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(failoverWith(t, ""), c.old, c.new, 1)
			var es Errors
			cpu, _ := cost(t, func() { es = parseErr(t, src) })
			msg := es.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "…") {
				t.Errorf("message %q: want %q and an ellipsis", msg, c.want)
			}
			for line := range strings.SplitSeq(msg, "\n") {
				if len(line) > 400 {
					t.Errorf("a line of %d bytes: %.200s…", len(line), line)
				}
			}
			if cpu > time.Second {
				t.Errorf("took %v of CPU", cpu)
			}
		})
	}
}

// .nan and .inf passed every range check (NaN compares false): each float
// field refuses them with its path and line.
func TestParseRefusesNonFiniteNumbers(t *testing.T) {
	catalog := func(name string) string {
		src, err := catalogSource(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(src)
	}
	failover, crash := catalog("vrrp-failover"), catalog("backend-crash")
	for _, c := range []struct {
		name, src, old, new, field, got string
	}{
		{"segment loss", failover, "      latency: 100us\n", "      latency: 100us\n      loss: .nan\n", "topology.segments[0].loss", ".nan"},
		{"interface loss", failover, "address: 10.77.0.12/24}", "address: 10.77.0.12/24, loss: .inf}", "topology.hosts[1].interfaces[0].loss", ".inf"},
		{"ks_max", failover, "ks_max: 0.05", "ks_max: .NaN", "sweep.ks_max", ".nan"},
		{"fault factor", crash, `kind: crash, target: "p3:80"}`, `kind: slow, target: "p3:80", factor: .inf}`, "faults[0].factor", ".inf"},
		{"fault factor nan", crash, `kind: crash, target: "p3:80"}`, `kind: slow, target: "p3:80", factor: .nan}`, "faults[0].factor", ".nan"},
		{"client rate", crash, "listener: active, rate: 100}", "listener: active, rate: .nan}", "clients[1].rate", ".nan"},
		{"client rate inf", crash, "listener: active, rate: 100}", "listener: active, rate: .inf}", "clients[1].rate", ".inf"},
		{"ramp rate", crash, "listener: active, rate: 100}", "listener: active, ramp: [{at: 1s, rate: -.inf}]}", "clients[1].ramp[0].rate", "-.inf"},
		{"error probability", crash, `{address: "p2:80", service: {law: lognormal, median: 20ms, p99: 80ms}}`,
			`{address: "p2:80", errors: [{status: 500, probability: .nan}]}`, "backends[1].errors[0].probability", ".nan"},
		{"share expected", crash, "expected: 0.5,", "expected: .nan,", "expect[5].share.expected", ".nan"},
		{"share tolerance", crash, "expected: 0.5, tolerance: 0.05", "expected: 0.5, tolerance: .inf", "expect[5].share.tolerance", ".inf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(c.src, c.old) {
				t.Fatalf("the lab has no %q: update the test", c.old)
			}
			src := strings.Replace(c.src, c.old, c.new, 1)
			es := parseErr(t, src)
			if len(es) != 1 {
				t.Fatalf("want one error, got %v", es)
			}
			e := es[0]
			if e.Field != c.field || e.Msg != "want a finite number, got "+c.got {
				t.Errorf("got %v, want field %s: want a finite number, got %s", e, c.field, c.got)
			}
			// The line is the one that holds the value.
			line := strings.Count(src[:strings.Index(src, c.new)], "\n") + 1
			if c.new[0] == ' ' {
				line += strings.Count(strings.TrimRight(c.new, "\n"), "\n")
			}
			if e.Line != line {
				t.Errorf("line %d, want %d", e.Line, line)
			}
		})
	}
	// A latency expectation's percentile too.
	lc := catalog("least-conn-vs-round-robin")
	es := parseErr(t, strings.Replace(lc, "percentile: 99, min: 300ms", "percentile: .nan, min: 300ms", 1))
	if len(es) != 1 || es[0].Field != "expect[0].latency.percentile" || es[0].Line == 0 {
		t.Errorf("percentile .nan: got %v", es)
	}
}

// A lab's duration is at most MaxDuration (2562047h validated and ran for
// hours); a lab's clients send at most MaxRequests.
func TestParseBoundsDuration(t *testing.T) {
	src := failoverWith(t, "")
	es := parseErr(t, strings.Replace(src, "duration: 20s", "duration: 2562047h", 1))
	if len(es) != 1 || es[0].Field != "duration" || es[0].Msg != "want at most 24h0m0s, got 2562047h0m0s" || es[0].Line != 20 {
		t.Errorf("got %v, want duration: want at most 24h0m0s at line 20", es)
	}
	if _, err := Parse("day.yaml", []byte(strings.Replace(src, "duration: 20s", "duration: 24h", 1)), nil); err != nil {
		t.Errorf("a lab of 24h: %v", err)
	}
	crash, err := catalogSource("backend-crash")
	if err != nil {
		t.Fatal(err)
	}
	es = parseErr(t, strings.Replace(string(crash), "listener: active, rate: 100}", "listener: active, rate: 1e7}", 1))
	if len(es) != 1 || es[0].Field != "clients" || !strings.Contains(es[0].Msg, "more than the 1e+08 a lab may send") {
		t.Errorf("rate 1e7 for a minute: got %v", es)
	}
}

// The YAML library panics on a tag where a list goes (FuzzParseLab found
// it): the tag is refused with its place instead.
func TestParseRefusesTagWhereAListGoes(t *testing.T) {
	src := strings.Replace(failoverWith(t, ""), "faults:\n", "faults: !!str x\nold_faults:\n", 1)
	es := parseErr(t, src)
	line := strings.Count(src[:strings.Index(src, "!!str")], "\n") + 1
	if len(es) != 1 || es[0].Line != line || es[0].Column != 9 || es[0].Msg != `the tag "!!str" cannot be decoded here: remove it` {
		t.Errorf("got %v, want the tag refused at %d:9", es, line)
	}
	_, _, err := loadLB(t, "groups: []\nlisteners: !!str x\n")
	if err == nil || !strings.Contains(err.Error(), `lb.yaml:2:12: the tag "!!str" cannot be decoded here`) {
		t.Errorf("lblab proxy --config: got %v", err)
	}
}

// catalogSource reads a catalog lab's YAML from the catalog folder
// (scenarios/labs), which the scenarios package embeds.
func catalogSource(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "labs", name+".yaml"))
}
