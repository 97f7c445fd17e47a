package loadgen

import (
	"testing"

	"github.com/lblab/lblab/loadgen/backend"
)

// BenchmarkClosedLoop measures the generator and an lblab backend in the
// same process (they share the CPUs): b.N requests by 50 keep-alive
// clients. For the generator's capacity against wrk's, run
// go run ./loadgen/wrkcompare.
func BenchmarkClosedLoop(b *testing.B) {
	_, addr := startBackend(b, backend.Config{Name: "bench"}, false)
	b.ResetTimer()
	res, err := Run(b.Context(), Config{Target: "http://" + addr + "/", Requests: int64(b.N), Concurrency: 50, KeepAlive: true})
	if err != nil {
		b.Fatal(err)
	}
	if !res.OK() {
		b.Fatal(res.AccountingLine())
	}
	b.ReportMetric(res.RPS(), "req/s")
}
