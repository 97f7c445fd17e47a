// Package simproxy runs the load balancer's cores (proxy/balance,
// proxy/health, proxy/attempt) in the simulator, with simulated backends
// and clients, and writes every request and health transition to the
// history. It models requests, not packets: each hop costs a configured
// one-way latency.
package simproxy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/lblab/lblab/units"
)

// Law is a service-time law.
type Law struct {
	// Law is constant (default), exponential or lognormal.
	Law string `yaml:"law"`
	// Mean is the constant time, or the exponential law's mean. Default
	// 10ms.
	Mean units.Duration `yaml:"mean"`
	// Median and P99 set a log-normal law: half the requests take less
	// than Median, 1% more than P99.
	Median units.Duration `yaml:"median"`
	P99    units.Duration `yaml:"p99"`
}

// z99 is the 99th percentile of the standard normal law.
const z99 = 2.3263478740408408

// Check returns what is wrong with the law, or nil.
func (l Law) Check() error {
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
	mean := l.Mean.Or(10 * time.Millisecond)
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
