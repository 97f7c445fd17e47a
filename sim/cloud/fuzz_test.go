package cloud

import (
	"encoding/json"
	"testing"
)

// FuzzModel: Validate never panics on a model, and in a model it accepts
// every probe between its first instances traces to an outcome.
func FuzzModel(f *testing.F) {
	m := seed()
	bothRoutes(m)
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Fuzz(func(t *testing.T, src []byte) {
		var m Model
		if json.Unmarshal(src, &m) != nil || len(Validate(&m)) > 0 {
			return
		}
		ins := m.Instances[:min(len(m.Instances), 8)]
		for _, a := range ins {
			for _, b := range ins {
				addr, _ := ParseAddr(b.NICs[0].Address)
				for _, fl := range []Flow{{Src: a.Name, Dst: addr}, {Src: a.Name, Dst: addr, Protocol: TCP, Port: 80}} {
					r, err := Trace(&m, fl)
					if err != nil || r.Outcome == "" || len(r.Request) == 0 {
						t.Fatalf("%s → %s: %v %+v", a.Name, addr, err, r)
					}
				}
			}
		}
	})
}
