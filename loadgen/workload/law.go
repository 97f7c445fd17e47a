// Package workload describes clients and backends the same way in every
// world: a backend's service-time law, concurrency, queue and injected
// errors; a client population, its arrival law and its requests. It is
// what a lab's backends: and clients: sections hold. The simulated
// clients and backends (loadgen/simload) and the real backend
// (loadgen/backend) read it; it imports no driver.
package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/lblab/lblab/units"
)

// DefaultService is the service time of a law that gives none.
const DefaultService = 10 * time.Millisecond

// Law is a service-time law.
type Law struct {
	// Law is constant (default), exponential or lognormal.
	Law string `yaml:"law"`
	// Mean is the constant time, or the exponential law's mean (lognormal
	// refuses it). Default 10ms.
	Mean units.Duration `yaml:"mean"`
	// Median and P99 set a log-normal law: half the requests take less
	// than Median, 1% more than P99 (constant and exponential refuse
	// them).
	Median units.Duration `yaml:"median"`
	P99    units.Duration `yaml:"p99"`
}

// z99 is the 99th percentile of the standard normal law.
const z99 = 2.3263478740408408

// Check returns what is wrong with the law, or nil. A field the law does
// not read is an error ("FIELD: ..."): median and p99 beside constant or
// exponential, mean beside lognormal would be ignored.
func (l Law) Check() error {
	law := l.Law
	if law == "" {
		law = "constant"
	}
	for _, f := range []struct {
		name string
		set  bool
		used bool
	}{
		{"mean", l.Mean.IsSet(), law != "lognormal"},
		{"median", l.Median.IsSet(), law == "lognormal"},
		{"p99", l.P99.IsSet(), law == "lognormal"},
	} {
		if f.set && !f.used && (law == "constant" || law == "exponential" || law == "lognormal") {
			return fmt.Errorf("%s: law %s has no %s (constant and exponential take mean; lognormal takes median and p99)", f.name, law, f.name)
		}
	}
	switch l.Law {
	case "", "constant", "exponential":
		if l.Mean.D < 0 {
			return fmt.Errorf("mean must not be negative")
		}
	case "lognormal":
		if l.Median.D <= 0 || l.P99.D < l.Median.D {
			return fmt.Errorf("lognormal needs 0 < median <= p99")
		}
	default:
		return fmt.Errorf("unknown law %q (constant, exponential or lognormal)", l.Law)
	}
	return nil
}

// Sample draws one service time.
func (l Law) Sample(rnd *rand.Rand) time.Duration {
	mean := l.Mean.Or(DefaultService)
	switch l.Law {
	case "exponential":
		return time.Duration(rnd.ExpFloat64() * float64(mean))
	case "lognormal":
		mu := math.Log(float64(l.Median.D))
		sigma := (math.Log(float64(l.P99.D)) - mu) / z99
		return time.Duration(math.Exp(mu + sigma*rnd.NormFloat64()))
	}
	return mean
}
