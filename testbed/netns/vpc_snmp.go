package netns

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// SNMP returns the kernel's IP, ICMP, TCP and UDP counters of the host's
// namespace (/proc/net/snmp as the namespace sees it), keyed
// "Icmp.InEchos", "Tcp.OutRsts" and so on.
func (h *Host) SNMP() (map[string]int64, error) {
	out := map[string]int64{}
	err := h.Do(func() error {
		// thread-self: /proc/self/net is the namespace of the process's
		// main thread, not of this one.
		f, err := os.Open("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		defer f.Close()
		// Each protocol has two lines: its counters' names, then their
		// values.
		sc := bufio.NewScanner(f)
		names := map[string][]string{}
		for sc.Scan() {
			proto, rest, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			fields := strings.Fields(rest)
			head, seen := names[proto]
			if !seen {
				names[proto] = fields
				continue
			}
			for i, v := range fields {
				if i < len(head) {
					n, _ := strconv.ParseInt(v, 10, 64)
					out[proto+"."+head[i]] = n
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("netns: counters of %s: %w", h.Name, err)
	}
	return out, nil
}
