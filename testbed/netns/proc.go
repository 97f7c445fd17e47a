package netns

// StartTime returns the start time of process pid in clock ticks since
// boot (field 22 of /proc/PID/stat), or 0 if it is gone: with the pid, it
// names a process across pid reuse (the docker testbed labels what it
// makes with its owner's).
func StartTime(pid int) uint64 { return startTime(pid) }
