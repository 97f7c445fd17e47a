package loadgen

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStartAtIsTimeZero: with StartAt 300 ms ahead, nothing is sent
// before it, the schedule counts from it (request i meant for i × 10 ms),
// and the result's Start is StartAt.
func TestStartAtIsTimeZero(t *testing.T) {
	var mu sync.Mutex
	var first time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	at := time.Now().Add(300 * time.Millisecond)
	res := run(t, t.Context(), Config{Target: "http://" + addr + "/", Rate: 100, Requests: 20, KeepAlive: true,
		Record: true, StartAt: time.Unix(0, at.UnixNano())})
	if !res.OK() || res.Sent != 20 {
		t.Fatalf("%s", res.AccountingLine())
	}
	if d := res.Start.Sub(at); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("start %s, want %s", res.Start, at)
	}
	mu.Lock()
	defer mu.Unlock()
	if first.Before(at) {
		t.Fatalf("the backend got a request at %s, before the start %s", first, at)
	}
	seen := map[time.Duration]bool{}
	for _, r := range res.Records {
		seen[r.Start] = r.End >= r.Start
	}
	for i := range 20 {
		if at := time.Duration(i) * 10 * time.Millisecond; !seen[at] {
			t.Fatalf("no request meant for %s (records %+v)", at, res.Records)
		}
	}
}

func TestStartAtFarAwayIsRefused(t *testing.T) {
	for _, at := range []time.Time{time.Now().Add(2 * time.Hour), time.Now().Add(-2 * time.Hour)} {
		_, err := Run(t.Context(), Config{Target: "http://127.0.0.1:1/", Requests: 1, StartAt: at})
		if err == nil || !strings.Contains(err.Error(), "more than 1h0m0s away") {
			t.Errorf("StartAt %s: %v", at, err)
		}
	}
}
