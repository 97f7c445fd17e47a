package main

import (
	"fmt"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// implFlagDoc is the help of --impl (lblab run, lblab compare).
const implFlagDoc = "programs that play the lab's roles on real hosts, e.g. vrrp=keepalived,proxy=nginx (sets the lab's impl field; default lblab for every role)"

// implRoles are the roles --impl names, as the lab's impl field does.
var implRoles = []string{"vrrp", "proxy"}

// parseImpl reads --impl: ROLE=NAME pairs, comma-separated, each role at
// most once. The names are checked by the lab's validation (impl.ROLE).
func parseImpl(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ",") {
		role, name, ok := strings.Cut(strings.TrimSpace(pair), "=")
		role, name = strings.TrimSpace(role), strings.TrimSpace(name)
		known := false
		for _, r := range implRoles {
			known = known || r == role
		}
		if !ok || !known || name == "" || strings.ContainsAny(name, "{}[]:,\"' ") {
			return nil, usageError{i18n.Errorf("--impl %s: want ROLE=NAME, comma-separated, ROLE vrrp or proxy (e.g. vrrp=keepalived,proxy=nginx), got %q", s, pair)}
		}
		if _, dup := out[role]; dup {
			return nil, usageError{i18n.Errorf("--impl %s: role %s named twice", s, role)}
		}
		out[role] = name
	}
	return out, nil
}

// loadWithImpl loads the lab with sets and, when impl (--impl) names
// programs, with the lab's impl field set to them: one --set per role
// when the lab has an impl field (its other roles stay), else the whole
// field. The lab's validation checks the names at field impl.ROLE.
func loadWithImpl(name string, sets []string, impl string) (*labfile.Lab, error) {
	roles, err := parseImpl(impl)
	if err != nil {
		return nil, err
	}
	lab, err := scenarios.Load(name, sets)
	if err != nil || len(roles) == 0 {
		return lab, err
	}
	sets = append([]string(nil), sets...)
	if lab.Impl != nil {
		for _, r := range implRoles {
			if n, ok := roles[r]; ok {
				sets = append(sets, fmt.Sprintf("impl.%s=%s", r, n))
			}
		}
	} else {
		var kv []string
		for _, r := range implRoles {
			if n, ok := roles[r]; ok {
				kv = append(kv, r+": "+n)
			}
		}
		sets = append(sets, "impl={"+strings.Join(kv, ", ")+"}")
	}
	return scenarios.Load(name, sets)
}
