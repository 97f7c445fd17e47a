package dockerbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// RealtimeShare is the real-time CPU time a container started with
// Spec.Realtime may use, in microseconds a period of dockerRTPeriod
// (the kernel's default period, 1 s): 20 ms, a hundred times what a
// VRRP agent uses. Past it the container's real-time threads wait for
// the next period.
const RealtimeShare = 20_000

// dockerRTBudget is the real-time budget (µs a second) this package
// gives Docker's cgroup (/sys/fs/cgroup/cpu/docker) when it holds less,
// as dockerd --cpu-rt-runtime does: room for 25 containers at
// RealtimeShare. It is left so (a machine setting, not a run's).
const dockerRTBudget = 500_000

// dockerCPUCgroup is Docker's cgroup in the cgroup v1 cpu hierarchy
// (the cgroupfs driver's default parent).
const dockerCPUCgroup = "/sys/fs/cgroup/cpu/docker"

var (
	rtBudgetOnce sync.Once
	rtBudgetOK   bool
)

// realtimeBudget makes room for containers' real-time threads where the
// kernel groups real-time time by cgroup (CONFIG_RT_GROUP_SCHED, cgroup
// v1): Docker's cgroup gets dockerRTBudget. It reports whether a
// container may ask for RealtimeShare (false where there is no such
// grouping: none is needed then, and asking would fail).
func realtimeBudget() bool {
	rtBudgetOnce.Do(func() {
		p := filepath.Join(dockerCPUCgroup, "cpu.rt_runtime_us")
		b, err := os.ReadFile(p)
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return
		}
		if n < dockerRTBudget {
			if os.WriteFile(p, []byte(strconv.Itoa(dockerRTBudget)), 0o644) != nil {
				return
			}
		}
		rtBudgetOK = true
	})
	return rtBudgetOK
}

// setRealtime puts every thread of process pid (and so every thread it
// makes later, which inherits its maker's policy) under the real-time
// round-robin policy at the lowest priority, as chrt --rr -a -p 1 does.
func setRealtime(pid int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: 1}
		if err := unix.SchedSetAttr(tid, attr, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("thread %d: %w", tid, err))
		}
	}
	return errors.Join(errs...)
}
