package scenarios

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/units"
)

// TestWallClockTogether: with together, the steps of one moment run at
// once (each of two steps waits for the other to have begun); without,
// one after the other (the first gives up waiting); steps of later
// moments still run after those of earlier ones.
func TestWallClockTogether(t *testing.T) {
	for _, together := range []bool{true, false} {
		a, b := make(chan struct{}), make(chan struct{})
		wait := func(mine, other chan struct{}) func() error {
			return func() error {
				close(mine)
				select {
				case <-other:
					return nil
				case <-time.After(time.Second):
					return errors.New("the other step did not begin")
				}
			}
		}
		var order []string
		c := &wallClock{together: together}
		c.At(10*time.Millisecond, func() error { order = append(order, "late"); return nil })
		c.At(0, wait(a, b))
		c.At(0, wait(b, a))
		_, _, err := c.runClock(context.Background(), 20*time.Millisecond)
		if together && (err != nil || len(order) != 1) {
			t.Errorf("together: %v, later steps %v", err, order)
		}
		if !together && err == nil {
			t.Error("one after the other: both steps ran at once")
		}
	}
}

// TestLBApartFaults: the faults of one moment are applied at once only
// when they touch each host (a server's host name, or the proxy) once.
func TestLBApartFaults(t *testing.T) {
	lab, err := Load("backend-crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !lbApartFaults(faultPlan(lab, 1)) {
		t.Error("backend-crash: three servers on three hosts at 20 s are apart")
	}
	at := func(d time.Duration, kind labfile.FaultKind, target string) faultStep {
		return faultStep{d, labfile.Fault{Kind: kind, Target: target, At: units.Of(d)}}
	}
	for name, c := range map[string]struct {
		plan []faultStep
		want bool
	}{
		"one host, two moments": {[]faultStep{at(time.Second, labfile.FaultCrash, "p1:80"), at(2*time.Second, labfile.FaultRestore, "p1:80")}, true},
		"one host, one moment":  {[]faultStep{at(time.Second, labfile.FaultPowerOff, "p1:80"), at(time.Second, labfile.FaultCrash, "p1:81")}, false},
		"two health paths":      {[]faultStep{at(time.Second, labfile.FaultHealthPath, "web"), at(time.Second, labfile.FaultHealthPath, "api")}, false},
		"a bad target":          {[]faultStep{at(time.Second, labfile.FaultCrash, "p1")}, false},
	} {
		if got := lbApartFaults(c.plan); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}

// TestDockerLBRemoteRefusal: on a remote engine, a load-balancer lab
// needing this machine's view of its hosts' namespaces is refused,
// naming what; one with only crashes and restores is not.
func TestDockerLBRemoteRefusal(t *testing.T) {
	for lab, want := range map[string]string{
		"backend-crash":        "",
		"weighted":             "",
		"healthcheck-502":      "faults of kind health_path need the engine on this machine",
		"ip-hash-behind-proxy": "source addresses on a remote Docker engine",
		"real-faults":          "faults of kind health_fail need the engine on this machine",
	} {
		var l *labfile.Lab
		var err error
		if lab == "real-faults" {
			l, err = labfile.LoadFile("testdata/real-faults.yaml", nil)
		} else {
			l, err = Load(lab, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		err = dockerLBRemoteRefusal(l)
		var in *labfile.InputError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: refused: %v", lab, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want) || !errors.As(err, &in)):
			t.Errorf("%s: got %v, want an input error containing %q", lab, err, want)
		}
	}
}
