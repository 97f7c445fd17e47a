package probe

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
)

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		in   Spec
		want Spec
	}{
		{Spec{From: "c1", To: "10.0.0.1"}, Spec{Name: "icmp c1 10.0.0.1", From: "c1", To: "10.0.0.1", Kind: ICMP, Interval: 100 * time.Millisecond, Timeout: time.Second}},
		{Spec{From: "c1", To: "10.0.0.1:80"}, Spec{Name: "tcp c1 10.0.0.1:80", From: "c1", To: "10.0.0.1:80", Kind: TCP, Interval: 100 * time.Millisecond, Timeout: time.Second}},
		{Spec{Name: "p", From: "c1", To: "10.0.0.1", Kind: ICMP, Interval: time.Second, Timeout: 50 * time.Millisecond},
			Spec{Name: "p", From: "c1", To: "10.0.0.1", Kind: ICMP, Interval: time.Second, Timeout: 50 * time.Millisecond}},
	} {
		if got := tc.in.Defaults(); got != tc.want {
			t.Errorf("%+v.Defaults() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestProblems(t *testing.T) {
	ok := Spec{From: "c1", To: "10.0.0.1"}
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string // "" when valid
		says  string
	}{
		{"defaults", func(*Spec) {}, "", ""},
		{"tcp", func(s *Spec) { s.To, s.Kind = "10.0.0.1:443", TCP }, "", ""},
		{"bounds ok", func(s *Spec) { s.Interval, s.Timeout = MinInterval, MaxTimeout }, "", ""},
		{"no from", func(s *Spec) { s.From = "" }, "from", "want the host"},
		{"from with space", func(s *Spec) { s.From = "c 1" }, "from", "without spaces"},
		{"from control", func(s *Spec) { s.From = "c\x1b[2J" }, "from", "printable"},
		{"from long", func(s *Spec) { s.From = strings.Repeat("a", 65) }, "from", "at most 64"},
		{"name long", func(s *Spec) { s.Name = strings.Repeat("a", 1000) }, "name", "at most 64"},
		{"name invalid utf8", func(s *Spec) { s.Name = "a\xff" }, "name", "printable"},
		{"icmp hostname", func(s *Spec) { s.To = "web1" }, "to", "IPv4 address"},
		{"icmp with port", func(s *Spec) { s.To, s.Kind = "10.0.0.1:80", ICMP }, "to", "IPv4 address"},
		{"icmp ipv6", func(s *Spec) { s.To, s.Kind = "::1", ICMP }, "to", "IPv4 address"},
		{"tcp no port", func(s *Spec) { s.Kind = TCP }, "to", "IPV4:PORT"},
		{"tcp port 0", func(s *Spec) { s.To = "10.0.0.1:0" }, "to", "port from 1 to 65535"},
		{"tcp port big", func(s *Spec) { s.To = "10.0.0.1:65536" }, "to", "IPV4:PORT"},
		{"unspecified", func(s *Spec) { s.To = "0.0.0.0" }, "to", "unspecified"},
		{"broadcast", func(s *Spec) { s.To = "255.255.255.255" }, "to", "broadcast"},
		{"multicast", func(s *Spec) { s.To = "224.0.0.18:80" }, "to", "multicast"},
		{"kind", func(s *Spec) { s.Kind = "udp" }, "kind", `"udp"`},
		{"interval small", func(s *Spec) { s.Interval = 9 * time.Millisecond }, "interval", "got 9ms"},
		{"interval negative", func(s *Spec) { s.Interval = -time.Second }, "interval", "got -1s"},
		{"interval huge", func(s *Spec) { s.Interval = 2 * time.Hour }, "interval", "got 2h0m0s"},
		{"timeout huge", func(s *Spec) { s.Timeout = 61 * time.Second }, "timeout", "got 1m1s"},
		{"timeout tiny", func(s *Spec) { s.Timeout = time.Microsecond }, "timeout", "got 1µs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			ps := s.Problems()
			err := s.Validate()
			if tc.field == "" {
				if len(ps) != 0 || err != nil {
					t.Fatalf("%+v: problems %v", s, err)
				}
				return
			}
			if len(ps) != 1 {
				t.Fatalf("%+v: want one problem, got %v", s, err)
			}
			if ps[0].Field != tc.field || !strings.Contains(ps[0].Error(), tc.says) {
				t.Errorf("%+v: got %q, want field %s saying %q", s, ps[0].Error(), tc.field, tc.says)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("Validate() = %v, want a *FieldError of %s", err, tc.field)
			}
			if !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Errorf("Validate() = %q, want it to start with the field", err)
			}
			if zh := fe.In(i18n.Chinese); zh == fe.Error() || !strings.HasPrefix(zh, tc.field) {
				t.Errorf("In(zh) = %q, want the field and Chinese", zh)
			}
		})
	}
}

func TestProblemsEveryField(t *testing.T) {
	s := Spec{Name: "\x00", To: "x", Kind: "x", Interval: -1, Timeout: -1}
	var fields []string
	for _, p := range s.Problems() {
		fields = append(fields, p.Field)
	}
	if got := strings.Join(fields, ","); got != "name,from,kind,interval,timeout" {
		t.Errorf("fields %s", got)
	}
}

func TestSchedule(t *testing.T) {
	ms := time.Millisecond
	s := Schedule{Phase: 30 * ms, Interval: 100 * ms}
	for _, tc := range []struct {
		k    int64
		want time.Duration
	}{{0, 30 * ms}, {1, 130 * ms}, {10, 1030 * ms}, {-5, 30 * ms}, {1 << 62, maxStamp}} {
		if got := s.At(tc.k); got != tc.want {
			t.Errorf("At(%d) = %v, want %v", tc.k, got, tc.want)
		}
	}
	for _, tc := range []struct {
		now   time.Duration
		wantK int64
		want  time.Duration
	}{{0, 0, 30 * ms}, {30 * ms, 0, 30 * ms}, {31 * ms, 1, 130 * ms}, {130 * ms, 1, 130 * ms}, {555 * ms, 6, 630 * ms}, {maxStamp, 1 << 62, maxStamp}} {
		k, at := s.Next(tc.now)
		if at != tc.want || (tc.now < time.Hour && k != tc.wantK) {
			t.Errorf("Next(%v) = %d, %v, want %d, %v", tc.now, k, at, tc.wantK, tc.want)
		}
		if at < tc.now {
			t.Errorf("Next(%v) = %v: before now", tc.now, at)
		}
	}
}

func TestEvent(t *testing.T) {
	ms := time.Millisecond
	icmp := Spec{From: "c1", To: "10.0.0.9"}.Defaults()
	tcp := Spec{From: "c2", To: "10.0.0.9:80"}.Defaults()
	yes, no := true, false
	for _, tc := range []struct {
		name string
		s    Spec
		r    Result
		want history.Event
	}{
		{"answered", icmp, Result{Sent: 100 * ms, Ended: 101 * ms, Answered: true, Answer: "lb1", Error: Timeout},
			history.Event{T: history.Stamp(101 * ms), Kind: history.KindNet, Src: "c1", Dst: "10.0.0.9", Probe: "icmp", OK: &yes, Answer: "lb1", RTT: history.Stamp(ms), Start: history.Stamp(100 * ms)}},
		{"timeout", icmp, Result{Sent: 100 * ms, Ended: 1100 * ms, Answer: "lb1"},
			history.Event{T: history.Stamp(1100 * ms), Kind: history.KindNet, Src: "c1", Dst: "10.0.0.9", Probe: "icmp", OK: &no, Error: "timeout", Start: history.Stamp(100 * ms)}},
		{"refused", tcp, Result{Sent: 200 * ms, Ended: 201 * ms, Error: Refused},
			history.Event{T: history.Stamp(201 * ms), Kind: history.KindNet, Src: "c2", Dst: "10.0.0.9:80", Probe: "tcp", OK: &no, Error: "refused", Start: history.Stamp(200 * ms)}},
		{"reset", tcp, Result{Sent: 200 * ms, Ended: 250 * ms, Error: Reset},
			history.Event{T: history.Stamp(250 * ms), Kind: history.KindNet, Src: "c2", Dst: "10.0.0.9:80", Probe: "tcp", OK: &no, Error: "reset", Start: history.Stamp(200 * ms)}},
		{"unreachable", icmp, Result{Sent: 0, Ended: 3 * ms, Error: Unreachable},
			history.Event{T: history.Stamp(3 * ms), Kind: history.KindNet, Src: "c1", Dst: "10.0.0.9", Probe: "icmp", OK: &no, Error: "unreachable"}},
		{"end before send", icmp, Result{Sent: 5 * ms, Ended: 4 * ms, Answered: true},
			history.Event{T: history.Stamp(5 * ms), Kind: history.KindNet, Src: "c1", Dst: "10.0.0.9", Probe: "icmp", OK: &yes, Start: history.Stamp(5 * ms)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Event(tc.r)
			g, w := string(history.AppendJSON(nil, &got)), string(history.AppendJSON(nil, &tc.want))
			if g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestDst(t *testing.T) {
	a, p := Spec{To: "10.0.0.9:80", Kind: TCP}.Dst()
	if a.String() != "10.0.0.9" || p != 80 {
		t.Errorf("tcp Dst = %v %d", a, p)
	}
	a, p = Spec{To: "10.0.0.9", Kind: ICMP}.Dst()
	if a.String() != "10.0.0.9" || p != 0 {
		t.Errorf("icmp Dst = %v %d", a, p)
	}
}

func TestSpecSchedule(t *testing.T) {
	s := Spec{From: "c1", To: "10.0.0.1"}.Schedule(7 * time.Millisecond)
	if s != (Schedule{Phase: 7 * time.Millisecond, Interval: DefaultInterval}) {
		t.Errorf("schedule %+v", s)
	}
	if at := (Spec{Interval: time.Second}).Schedule(0).At(3); at != 3*time.Second {
		t.Errorf("At(3) = %v", at)
	}
}
