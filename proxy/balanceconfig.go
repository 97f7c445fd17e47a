package proxy

import (
	"time"

	"github.com/lblab/lblab/proxy/balance"
)

// BalanceConfig returns the group's servers and algorithm as the selection
// core takes them, with nginx's defaults (weight 1, max_fails 1,
// fail_timeout 10s) for what the config leaves out.
func (g *Group) BalanceConfig() balance.Config {
	c := balance.Config{Algorithm: g.Algorithm, Empty: len(g.Servers) == 0}
	if c.Algorithm == "" {
		c.Algorithm = balance.RoundRobin
	}
	for _, s := range g.Servers {
		c.Servers = append(c.Servers, balance.Server{Name: s.Address, Weight: s.WeightOr(), Backup: s.Backup,
			Down: s.Down, MaxFails: s.MaxFailsOr(), FailTimeout: s.FailTimeout.Or(10 * time.Second), MaxConns: s.MaxConns})
	}
	return c
}
