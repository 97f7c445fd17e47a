package labfile

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/lblab/lblab/sim/cloud"
)

// cloudSeeds are the cloud labs: the test's and the catalog's.
func cloudSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{[]byte(cloudLab)}
	for _, name := range []string{"vpc-isolation", "vpc-peering", "vpc-overlap"} {
		src, err := os.ReadFile("../labs/" + name + ".yaml")
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, src)
	}
	return seeds
}

// checkCloudLab: Parse does not panic, its errors name the file, and in a
// lab it accepts every probe between its first hosts traces to an outcome.
// It reports whether the lab was accepted.
func checkCloudLab(t *testing.T, src []byte) bool {
	lab, err := Parse("f.yaml", src, nil)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Fatalf("error without the file name: %v", err)
		}
		return false
	}
	m := lab.Cloud()
	if m == nil {
		return true
	}
	hosts := m.Instances[:min(len(m.Instances), 8)]
	for _, a := range hosts {
		for _, b := range hosts {
			addr, _ := cloud.ParseAddr(b.NICs[0].Address)
			for _, fl := range []cloud.Flow{{Src: a.Name, Dst: addr}, {Src: a.Name, Dst: addr, Protocol: cloud.TCP, Port: 80}} {
				r, err := cloud.Trace(m, fl)
				if err != nil || r.Outcome == "" || len(r.Request) == 0 {
					t.Fatalf("%s → %s: %v %+v\n%s", a.Name, addr, err, r, src)
				}
			}
		}
	}
	return true
}

// FuzzCloudLab fuzzes the network: section and the hosts placed in it.
func FuzzCloudLab(f *testing.F) {
	for _, s := range cloudSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkCloudLab(t, src) })
}

// TestCloudLabMutations runs checkCloudLab over 2,000 mutations of the
// cloud labs (fixed seed): lines dropped, doubled or swapped, bytes and
// words replaced by others of the file or by hostile values.
func TestCloudLabMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	seeds := cloudSeeds(t)
	accepted := 0
	hostile := []string{"0.0.0.0/0", "255.255.255.255/32", "-1", "99999", "''", "[]", "{}", "local", "vpc-a", "ecs-a", "192.168.5.0/24", "/33", "::1", "x:y"}
	for i := range 2000 {
		lines := bytes.Split(seeds[rng.IntN(len(seeds))], []byte("\n"))
		for range 1 + rng.IntN(3) {
			j := rng.IntN(len(lines))
			switch rng.IntN(4) {
			case 0:
				lines = append(lines[:j:j], lines[j+1:]...)
			case 1:
				lines = append(lines[:j+1:j+1], lines[j:]...)
			case 2:
				k := rng.IntN(len(lines))
				lines[j], lines[k] = lines[k], lines[j]
			default:
				words := bytes.Fields(lines[j])
				if len(words) > 0 {
					w := words[rng.IntN(len(words))]
					lines[j] = bytes.Replace(lines[j], w, []byte(hostile[rng.IntN(len(hostile))]), 1)
				}
			}
		}
		src := bytes.Join(lines, []byte("\n"))
		t.Run("", func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("mutation %d panics: %v\n%s", i, r, src)
				}
			}()
			if checkCloudLab(t, src) {
				accepted++
			}
		})
	}
	if accepted < 200 {
		t.Errorf("only %d of 2000 mutations were accepted labs: the test traces too little", accepted)
	}
	t.Logf("%d of 2000 mutations were accepted labs", accepted)
}
