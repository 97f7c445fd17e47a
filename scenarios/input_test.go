package scenarios_test

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// catalogSource returns the text of a catalog lab.
func catalogSource(t *testing.T, name string) string {
	t.Helper()
	src, err := scenarios.CatalogSource(name)
	if err != nil {
		t.Fatalf("CatalogSource(%s): %v", name, err)
	}
	return string(src)
}

// wantOneError parses src and wants exactly one error at the last
// occurrence of at in src (its line and column; "" for no place), in
// field, whose message holds msg.
func wantOneError(t *testing.T, src, at, field, msg string, sets ...string) {
	t.Helper()
	if errs := parseErrors(t, src, sets); len(errs) != 1 {
		t.Fatalf("want one error, got %d:\n%v", len(errs), errs)
	}
	wantError(t, src, at, field, msg, sets...)
}

// wantError parses src and wants, among its errors, one in field at the
// last occurrence of at (its line and column; "" for no place) whose
// message holds msg.
func wantError(t *testing.T, src, at, field, msg string, sets ...string) {
	t.Helper()
	errs := parseErrors(t, src, sets)
	for _, e := range errs {
		if e.Field != field {
			continue
		}
		if at != "" {
			line, col := position(src, strings.LastIndex(src, at))
			if e.Line != line || e.Column != col {
				t.Errorf("error at %d:%d, want %d:%d (%q): %v", e.Line, e.Column, line, col, at, e)
			}
		}
		if !strings.Contains(e.Msg, msg) {
			t.Errorf("got %q, want a message with %q", e.Msg, msg)
		}
		if !strings.HasPrefix(e.Error(), labFile+":") {
			t.Errorf("%v does not start with the file's name", e)
		}
		return
	}
	t.Errorf("no error in field %q (want %q); got:\n%v", field, msg, errs)
}

// A whole-number field of a lab (lb, backends, clients, vrrp, checks)
// refuses a fraction, 5.0, a float in exponent form and a quoted number,
// with its line, column and field: the YAML library truncated 2.9 to 2.
func TestParseRefusesNonWholeNumbers(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	crash := catalogSource(t, "backend-crash")
	vrrp := failoverSource(t)
	track := catalogSource(t, "vrrp-track-script")
	for _, tc := range []struct {
		name, src, old, new, at, field, msg string
	}{
		{"weight 2.9", weighted, `{address: "a:80", weight: 5}`, `{address: "a:80", weight: 2.9}`, "2.9",
			"lb.groups[1].servers[0].weight", "2.9 is not a whole number"},
		{"weight 5.0", weighted, `{address: "a:80", weight: 5}`, `{address: "a:80", weight: 5.0}`, "5.0",
			"lb.groups[1].servers[0].weight", "5.0 is not a whole number"},
		{"weight 1e1", weighted, `{address: "a:80", weight: 5}`, `{address: "a:80", weight: 1e1}`, "1e1",
			"lb.groups[1].servers[0].weight", "1e1 is not a whole number"},
		{"weight quoted", weighted, `{address: "a:80", weight: 5}`, `{address: "a:80", weight: "5"}`, `"5"`,
			"lb.groups[1].servers[0].weight", "remove the quotes"},
		{"port", weighted, "port: 8001", "port: 8001.5", "8001.5", "lb.listeners[0].port", "not a whole number"},
		{"max_fails", crash, `{address: "a1:80", max_fails: 0}`, `{address: "a1:80", max_fails: 1.75}`, "1.75",
			"lb.groups[1].servers[0].max_fails", "not a whole number"},
		{"unhealthy_threshold", crash, "unhealthy_threshold: 3}", "unhealthy_threshold: 2.5}", "2.5",
			"lb.groups[1].health_check.unhealthy_threshold", "not a whole number"},
		{"backend concurrency", crash, `{address: "p1:80", service:`, `{address: "p1:80", concurrency: 7.5, service:`, "7.5",
			"backends[0].concurrency", "not a whole number"},
		{"status_count max", crash, "min: 2, max: 12,", "min: 2, max: 12.5,", "12.5",
			"expect[0].status_count.max", "not a whole number"},
		{"priority", vrrp, "priority: 150", "priority: 150.9", "150.9", "vrrp.vrrp_instance[0].priority", "not a whole number"},
		{"virtual_router_id", vrrp, "virtual_router_id: 51", "virtual_router_id: 51.2", "51.2",
			"vrrp.vrrp_instance[0].virtual_router_id", "not a whole number"},
		{"script fall", track, "fall: 2", "fall: 2.5", "2.5", "vrrp.vrrp_script.chk_nginx.fall", "not a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOneError(t, variant(t, tc.src, tc.old, tc.new), tc.at, tc.field, tc.msg)
		})
	}
	t.Run("set", func(t *testing.T) {
		wantOneError(t, weighted, "", "lb.groups[1].servers[0].weight", "2.9 is not a whole number (set by --set",
			"lb.groups[1].servers[0].weight=2.9")
	})
	t.Run("users", func(t *testing.T) {
		src := variant(t, weighted, "{listener: smooth, rate: 70, arrival: constant}", "{listener: smooth, rate: 70, arrival: constant, users: 10.5}")
		wantOneError(t, src, "10.5", "clients[1].users", "not a whole number")
	})
	t.Run("a whole weight still loads", func(t *testing.T) {
		if _, err := labfile.Parse(labFile, []byte(variant(t, weighted, "weight: 5}", "weight: 4}")), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// A Unicode hyphen, a full-width digit or a full-width space in a number
// of a lab gets the lookalike hint, in whole numbers, numbers, durations
// and where it breaks the YAML itself.
func TestParseLookalikeHints(t *testing.T) {
	vrrp := failoverSource(t)
	track := catalogSource(t, "vrrp-track-script")
	crash := catalogSource(t, "backend-crash")
	for _, tc := range []struct {
		name, src, old, new, at, field, msg string
	}{
		{"hyphen in a weight", track, "weight: -60", "weight: \u201060", "\u201060", "vrrp.vrrp_script.chk_nginx.weight",
			"looks like a Unicode hyphen (U+2010); use '-'"},
		{"full-width digits", vrrp, "priority: 150", "priority: \uff11\uff15\uff10", "\uff11", "vrrp.vrrp_instance[0].priority",
			"looks like a full-width digit (U+FF11); use '1'"},
		{"full-width digit in a number", crash, "listener: passive, rate: 100}", "listener: passive, rate: \uff11\uff10\uff10}",
			"\uff11", "clients[0].rate", "looks like a full-width digit"},
		{"full-width digit in a duration", vrrp, "at: 10s", "at: 1\uff10s", "1\uff10s", "faults[0].at",
			"looks like a full-width digit (U+FF10); use '0'"},
		{"full-width space after a colon", vrrp, "priority: 150", "priority:\u3000150", "", "",
			"looks like a full-width space (U+3000); use an ASCII space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOneError(t, variant(t, tc.src, tc.old, tc.new), tc.at, tc.field, tc.msg)
		})
	}
}

// A group's server with no simulated backend of its address is refused,
// naming the server and the backends there are; backend: none, down: true
// or a backend crashed at 0 s say a dead server is meant.
func TestParseRefusesServerWithoutBackend(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	// A typo in the group's address: bb:80 for the backend b:80.
	typo := strings.ReplaceAll(weighted, `"b:80"`, `"bb:80"`)
	typo = variant(t, typo, `  - {address: "bb:80"}`+"\n", `  - {address: "b:80"}`+"\n")
	wantError(t, typo, `"bb:80", weight`, "lb.groups[1].servers[1].address",
		`no simulated backend "bb:80" in backends (the backends are blue:80, green:80, a:80, b:80, c:80)`)
	noB := variant(t, weighted, `  - {address: "b:80"}`+"\n", "")
	for _, ok := range []string{`{address: "b:80", weight: 1, backend: none}`, `{address: "b:80", weight: 1, down: true}`} {
		if _, err := labfile.Parse(labFile, []byte(variant(t, noB, `{address: "b:80", weight: 1}`, ok)), nil); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	wantOneError(t, variant(t, weighted, `{address: "b:80", weight: 1}`, `{address: "b:80", weight: 1, backend: nil}`),
		"nil}", "lb.groups[1].servers[1].backend", `want none (a server with no simulated backend) or nothing, got "nil"`)
}

// Every catalog lab validates (a server without a backend, a window past
// the end, a lab with vrrp and lb are refused: none of them has one).
func TestCatalogLabsValidate(t *testing.T) {
	names, err := scenarios.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := scenarios.Load(n.Name, nil); err != nil {
			t.Errorf("%s: %v", n.Name, err)
		}
	}
}

// A lab with both vrrp and a load balancer (lb or nginx) that does not
// place its load balancer on a host (roles: [proxy]) is refused: the
// load balancer would run nowhere near the VIP.
func TestParseRefusesVRRPWithUnplacedLB(t *testing.T) {
	vrrp := failoverSource(t)
	weighted := catalogSource(t, "weighted")
	lb := weighted[strings.Index(weighted, "lb:\n"):strings.Index(weighted, "expect:\n")]
	src := variant(t, vrrp, "faults:\n", lb+"faults:\n")
	wantOneError(t, src, "", "lb", "must place the load balancer")
	nginx := "nginx: |\n  upstream app { server a:80; }\n  server { listen 80; location / { proxy_pass http://app; } }\n" +
		"backends: [{address: \"a:80\"}]\nclients: [{rate: 10}]\n"
	wantOneError(t, variant(t, vrrp, "faults:\n", nginx+"faults:\n"), "", "nginx", "give roles: [proxy] to the hosts that run it")
}

// A check window that is inverted, empty, or starts at or after the lab's
// end is refused (the README's from: 30s in a 30 s lab passed on
// nothing); a state check after the end too.
func TestParseRefusesEmptyWindows(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	share := `share: {group: smooth, server: "c:80", tolerance: 0.002}`
	for _, tc := range []struct{ name, window, at, field, msg string }{
		{"inverted", "from: 20s, to: 10s, ", "10s", "expect[4].share.to", "the window [20s, 10s) is empty: to must be after from"},
		{"empty", "from: 10s, to: 10s, ", "10s", "expect[4].share.to", "is empty"},
		{"from at the end", "from: 30s, ", "30s", "expect[4].share.from", "the window starts at 30s, at or after the end of the lab (duration 30s)"},
		{"from after the end", "from: 31s, to: 40s, ", "31s", "expect[4].share.from", "at or after the end of the lab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := variant(t, weighted, share, `share: {`+tc.window+share[len("share: {"):])
			wantOneError(t, src, tc.at, tc.field, tc.msg)
		})
	}
	for _, kind := range []string{"status_count: {class: 5xx, max: 0, ", "latency: {max: 1s, "} {
		src := variant(t, weighted, share, kind+"from: 30s}")
		wantOneError(t, src, "30s", "expect[4]."+strings.Fields(kind)[0][:len(strings.Fields(kind)[0])-1]+".from", "at or after the end")
	}
	vrrp := failoverSource(t)
	wantOneError(t, variant(t, vrrp, "state: {router: r2, state: MASTER}", "state: {router: r2, state: MASTER, at: 21s}"),
		"21s", "expect[3].state.at", "after the end of the lab")
}

// A check whose window holds no request fails and says "no request in
// [from, to)": a count, a share or a percentile of nothing proved nothing
// (status_count max: 0 passed).
func TestCheckWithNoRequestFails(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	src := variant(t, weighted, "{listener: blue-green, rate: 100, arrival: constant}", "{listener: blue-green, rate: 100, arrival: constant, start: 20s}")
	src = variant(t, src, "{listener: smooth, rate: 70, arrival: constant}", "{listener: smooth, rate: 70, arrival: constant, start: 20s}")
	src = variant(t, src, "expect:\n", `expect:
  - name: no 5xx before the clients start
    status_count: {class: 5xx, to: 10s, max: 0}
  - name: blue's share before the clients start
    share: {group: blue-green, server: "blue:80", to: 10s}
  - name: the tail before the clients start
    latency: {group: smooth, to: 10s, max: 1s}
`)
	lab, err := labfile.Parse(labFile, []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	if out.Results.Passed {
		t.Errorf("the run passed with three checks over no request")
	}
	want := []string{"no request in [0 s, 10 s)", "no request of group blue-green in [0 s, 10 s)", "no request of group smooth in [0 s, 10 s)"}
	for i, w := range want {
		x := out.Results.Expectations[i]
		if x.Passed || x.Observed != w {
			t.Errorf("%s: passed %v, observed %q, want failed and %q", x.Name, x.Passed, x.Observed, w)
		}
	}
	for _, x := range out.Results.Expectations[len(want):] {
		if !x.Passed {
			t.Errorf("%s failed: %s (expected %s)", x.Name, x.Observed, x.Expected)
		}
	}
}

// trackScriptTheory is the catalog's vrrp-track-script with its failover
// windows left to theory, the faults spread by jitter over many script
// and advert phases, and the script's interval (1.3 s) not the advert's
// (1 s), so that the phases are independent.
func trackScriptTheory(t *testing.T) string {
	src := catalogSource(t, "vrrp-track-script")
	src = strings.ReplaceAll(src, "min: 3.609s, max: 5.61s", "window: theory")
	src = variant(t, src, "min: 3.414s, max: 5.415s", "window: theory")
	src = variant(t, src, "interval: 1, weight: -60", "interval: 1.3, weight: -60")
	src = variant(t, src, "duration: 32s", "duration: 60s")
	src = strings.ReplaceAll(src, "at: 10.5s, kind", "at: 10s, jitter: 13s, kind")
	return strings.ReplaceAll(src, "at: 20.5s, kind", "at: 35s, jitter: 13s, kind")
}

// A failover check on a script_fail (or script_ok) fault without min and
// max has a theoretical window (it failed at run time: "no theory for a
// script_fail fault"); over 300 seeds every delay is inside it, and the
// delays reach to within 0.25 s of both ends (the window is not wider than
// the protocol makes it).
func TestScriptFailTheory(t *testing.T) {
	lab, err := labfile.Parse(labFile, []byte(trackScriptTheory(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := scenarios.RunSweep(t.Context(), lab, 1, 300, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range sw.Results.Expectations {
		if !x.Passed {
			t.Errorf("%s: %s (expected %s)", x.Name, x.Observed, x.Expected)
		}
	}
	// fall 2 × 1.3 s, one advert interval (1 s), MDI(100) = 3.609375 s, latency 100 µs.
	lo, hi := 1.3-1+3.609375+0.0001, 2.6+3.609375+0.0001
	m, ok := sw.Results.Metrics["failover_s"].(map[string]any)
	if !ok {
		t.Fatalf("no failover_s distribution in %v", sw.Results.Metrics)
	}
	first, last := m["min"].(float64), m["max"].(float64)
	if first < lo || last > hi || first-lo > 0.25 || hi-last > 0.25 {
		t.Errorf("delays %.6f..%.6f s, want inside [%.6f, %.6f] and reaching within 0.25 s of both ends", first, last, lo, hi)
	}
}

// A failover check whose theory cannot be derived is refused at
// validation, not after the run.
func TestParseRefusesFailoverWithoutTheory(t *testing.T) {
	src := catalogSource(t, "vrrp-track-script")
	src = variant(t, src, "failover: {fault: nginx dies on r3, by: r4, min: 3.609s, max: 5.61s, metric: failover_nopreempt_s}",
		"failover: {fault: nginx dies on r3, by: r4, metric: failover_nopreempt_s}")
	src = variant(t, src, "{name: VI_2, host: r4, virtual_router_id: 52, priority: 100,", "{name: VI_2, host: r4, virtual_router_id: 52, priority: 100, nopreempt: true,")
	wantOneError(t, src, "", "expect[2].failover", "r4 has nopreempt: it does not take over from a live master whose priority changed; write window: none")
	src = catalogSource(t, "vrrp-track-script")
	src = variant(t, src, "weight: -60", "weight: -40")
	src = variant(t, src, "min: 3.609s, max: 5.61s", "window: theory")
	wantOneError(t, src, "", "expect[0].failover", "leaves r1's priority at 110, not below r2's 100")
}

// A lookalike in a track_interface weight gets the hint too.
func TestParseTrackInterfaceLookalike(t *testing.T) {
	src := catalogSource(t, "vrrp-track-interface")
	if !strings.Contains(src, `"eth1 weight -60"`) {
		t.Fatal("vrrp-track-interface has no weight -60: the catalog lab changed, update the test")
	}
	src = strings.Replace(src, `"eth1 weight -60"`, "\"eth1 weight \u201060\"", 1)
	errs := parseErrors(t, src, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "looks like a Unicode hyphen (U+2010); use '-'") || !strings.Contains(errs[0].Field, "track_interface") {
		t.Errorf("got %v, want one track_interface error with the hyphen hint", errs)
	}
}

// A YAML tag on a number: one that says the number's own type (!!int 5,
// !!float 0.002) is plain YAML and loads as the number (the YAML library
// alone refuses !!int 5 into a whole-number field, quoting the tag as the
// value); !!str makes a string, refused as one; !!float where a whole
// number goes, or any other tag, is refused naming tag and value.
func TestParseTaggedNumbers(t *testing.T) {
	weighted := catalogSource(t, "weighted")
	const server = `{address: "a:80", weight: 5}`
	for _, v := range []string{"!!int 4", "&w !!int 4"} {
		src := variant(t, weighted, server, `{address: "a:80", weight: `+v+`}`)
		src = variant(t, src, "tolerance: 0.002", "tolerance: !!float 0.002")
		lab, err := labfile.Parse(labFile, []byte(src), nil)
		if err != nil {
			t.Fatalf("weight: %s: %v", v, err)
		}
		if w := lab.LB.Groups[1].Servers[0].Weight; w == nil || *w != 4 {
			t.Errorf("weight: %s loads as %v, want 4", v, w)
		}
	}
	for _, tc := range []struct{ value, at, msg string }{
		{"!!str 5", "!!str", "!!str 5 is not a whole number but a string (the tag !!str makes it one): remove the tag"},
		{"!!float 5", "!!float", "!!float 5 is not a whole number: remove the tag"},
		{"!foo 5", "!foo", "!foo 5 is not a whole number: remove the tag"},
		{"!!bool 5", "!!bool", "!!bool 5 is not a whole number: remove the tag"},
		{"!!int 99999999999999999999", "!!int", `!!int "99999999999999999999" is not a whole number`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			src := variant(t, weighted, server, `{address: "a:80", weight: `+tc.value+`}`)
			wantOneError(t, src, tc.at, "lb.groups[1].servers[0].weight", tc.msg)
		})
	}
}
