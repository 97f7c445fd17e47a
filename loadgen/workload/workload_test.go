package workload

import (
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/units"
)

// A law field the chosen law does not read is an error naming the field
// and the law, not ignored.
func TestLawRefusesFieldsOfAnotherLaw(t *testing.T) {
	ms := func(n int) units.Duration { return units.Of(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		law  Law
		want string
	}{
		{Law{Law: "constant", Mean: ms(10), P99: ms(50)}, "p99: law constant has no p99"},
		{Law{Median: ms(10)}, "median: law constant has no median"},
		{Law{Law: "exponential", Median: ms(10)}, "median: law exponential has no median"},
		{Law{Law: "lognormal", Mean: ms(5), Median: ms(10), P99: ms(50)}, "mean: law lognormal has no mean"},
	} {
		if err := tc.law.Check(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.law, err, tc.want)
		}
	}
	if err := (Law{Law: "lognormal", Median: ms(10), P99: ms(50)}).Check(); err != nil {
		t.Error(err)
	}
}

// Closed clients have no rate, arrival or ramp; open clients no think.
func TestClientsRefusesFieldsOfAnotherMode(t *testing.T) {
	for _, tc := range []struct {
		spec Clients
		want string
	}{
		{Clients{Mode: "closed", Rate: 10}, "rate: closed clients have no rate"},
		{Clients{Mode: "closed", Arrival: "poisson"}, "arrival: closed clients"},
		{Clients{Mode: "closed", Ramp: []RampStep{{Rate: 1}}}, "ramp: closed clients"},
		{Clients{Think: units.Of(time.Second)}, "think: open clients"},
		{Clients{Timeout: units.Of(0)}, "timeout: want more than 0, got 0s (leave it out for 10s)"},
		{Clients{Timeout: units.Of(-time.Second)}, "timeout: want more than 0, got -1s"},
	} {
		if err := tc.spec.Check(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
	}
	if err := (Clients{Mode: "closed", Users: 5, Think: units.Of(time.Second)}).Check(); err != nil {
		t.Error(err)
	}
}
