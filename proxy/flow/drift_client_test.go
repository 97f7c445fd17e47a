package flow_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/internal/poll"
	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/loadgen/simload"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/units"
)

// clientRecord is what a request event says in both worlds: the real
// load generator knows neither the group nor the tries, and names the
// listener by its address.
type clientRecord struct {
	Client, Backend, Error string
	Status                 int
	Start                  time.Duration
}

func clientRecords(evs []history.Event) (recs []clientRecord, lat []time.Duration) {
	for _, e := range evs {
		if e.Kind != history.KindRequest {
			continue
		}
		recs = append(recs, clientRecord{e.Client, e.Backend, e.Error, e.Status, e.Start.Duration()})
		lat = append(lat, e.Latency.Duration())
	}
	return recs, lat
}

// TestDriftClientTimeout: clients (a lab's clients: element, timeout 1s)
// send to a backend that hangs. In both worlds each request ends at the
// client as timed out 1 s after its intended send time (status 0, error
// timeout, no backend), sent = completed + failed + timed out holds, and
// the proxy sees the client leave: its try ends (conns 0) without
// counting a failure of the server (fails 0; the real proxy logs 499).
func TestDriftClientTimeout(t *testing.T) {
	const timeout = time.Second
	spec := workload.Clients{Name: "users", Listener: "web", Mode: "open", Arrival: "constant", Rate: 4, Users: 1,
		Addresses: "127.0.0.1/32", Stop: units.Of(500 * time.Millisecond), Timeout: units.Of(timeout)}
	hung := make(chan struct{})
	var realTries, simTries tryLog
	backend := realServer(t, &realTries, func(_ string, w http.ResponseWriter, r *http.Request) {
		select { // hangs until the proxy gives up on it, or the test ends
		case <-r.Context().Done():
		case <-hung:
		}
	})
	t.Cleanup(func() { close(hung) }) // before the server's Close (cleanups run last first)
	cfg := group([]string{backend}, proxy.Group{})

	// The simulator: the same clients, the backend hung from the start.
	w := newSimWorld(t, cfg, []string{backend}, nil, &simTries)
	w.srv[backend].Hang()
	c := simload.NewClients(w.k, w.p, spec, 0, time.Minute, w.log)
	c.Start()
	w.k.Run(3 * timeout)
	c.Finish()
	simRecs, simLat := clientRecords(w.log.Events())
	simCounters := w.counters()

	// The real proxy and lblab load's generator with the same spec.
	s, proxyHist, addr := startRealWith(t, cfg, server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*timeout)
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Config{Target: "http://" + addr + "/", Clients: &spec, Seed: 1, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	var realEvs []history.Event
	for i := range res.Records {
		realEvs = append(realEvs, res.Event(&res.Records[i]))
	}
	realRecs, realLat := clientRecords(realEvs)
	// The proxy learns that the last client left when its close arrives:
	// at once, as it watches a client whose server is slower than 100 ms.
	poll.Until(t, timeout, "the proxy to see the clients leave", func() bool {
		return strings.Contains(realCounters(s), "conns=0")
	})
	realCounters := realCounters(s)
	stopReal(s)
	proxyOut := outcomesOf(realHistory(t, proxyHist))

	same(t, "records", simRecs, realRecs)
	want := []clientRecord{{"127.0.0.1", "", loadgen.ClassTimeout, 0, 0}, {"127.0.0.1", "", loadgen.ClassTimeout, 0, 250 * time.Millisecond}}
	if fmt.Sprint(realRecs) != fmt.Sprint(want) {
		t.Errorf("records: %v, want %v", realRecs, want)
	}
	// The deadline is exact; a real one fires a scheduling delay late.
	for i := range simLat {
		if simLat[i] != timeout {
			t.Errorf("simulated latency %d: %v, want %v", i, simLat[i], timeout)
		}
	}
	for i := range realLat {
		if realLat[i] < timeout || realLat[i] > timeout+50*time.Millisecond {
			t.Errorf("real latency %d: %v, want %v (+50ms)", i, realLat[i], timeout)
		}
	}
	simAcct := fmt.Sprintf("sent %d = completed+failed %d + timed out %d", c.Sent, c.Done, c.TimedOut)
	realAcct := fmt.Sprintf("sent %d = completed+failed %d + timed out %d", res.Sent, res.Completed+res.Failed, res.TimedOut)
	same(t, "accounting", simAcct, realAcct)
	if res.Unaccounted() != 0 || res.TimedOut != 2 {
		t.Errorf("real: %s", res.AccountingLine())
	}
	same(t, "the proxy's counters", simCounters, realCounters)
	if !strings.Contains(realCounters, "fails=0 conns=0 out=false") {
		t.Errorf("the client's timeout counted against the server: %s", realCounters)
	}
	for _, o := range proxyOut {
		if o.Status != flow.StatusClientClosed || o.Error != flow.ClassClientClosed || o.Tries != 1 {
			t.Errorf("the real proxy's record: %v, want 499 client_closed after 1 try", o)
		}
	}
	same(t, "requests reached", simTries.list(), realTries.list())
	t.Logf("%s; proxy %v; %s", res.AccountingLine(), proxyOut, realCounters)
}
