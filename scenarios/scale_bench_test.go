package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios/labfile"
)

// scaleChild names the job a child process of BenchmarkScale runs: the
// benchmark runs each measured job in a child (this test binary again) so
// that getrusage's maxrss is that job's alone.
const scaleChild = "LBLAB_SCALE_CHILD"

// TestScaleChild is the child's side of BenchmarkScale; without
// LBLAB_SCALE_CHILD it does nothing. "million DIR" runs testdata/million
// (one million requests) as `lblab run` does and writes its folder into
// DIR; "sweep N DIR" runs backend-crash over N seeds and writes it.
func TestScaleChild(t *testing.T) {
	job := os.Getenv(scaleChild)
	if job == "" {
		t.Skip("the child of BenchmarkScale")
	}
	var kind, dir string
	var n int
	if _, err := fmt.Sscan(job, &kind, &n, &dir); err != nil {
		t.Fatal(err)
	}
	switch kind {
	case "million":
		lab, err := labfile.LoadFile(filepath.Join("testdata", "million.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := RunSimWrite(context.Background(), lab, 1, dir); err != nil {
			t.Fatal(err)
		}
	case "sweep":
		lab, err := Load("backend-crash", nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := RunSweep(context.Background(), lab, 1, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
}

// child runs job in a child process and returns its wall time, its peak
// resident memory in MB and the bytes it left in its folder.
func child(b *testing.B, job string, n int) (time.Duration, float64, int64) {
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), scaleChild+"="+job+" "+strconv.Itoa(n)+" "+dir)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", job, err, out)
	}
	wall := time.Since(start)
	rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KB on Linux
	var disk int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			disk += fi.Size()
		}
		return nil
	})
	return wall, rss, disk
}

// BenchmarkScale measures the two scale promises of the history in one
// run, as ratios:
//
//   - million: testdata/million (1M simulated requests) run as `lblab run`
//     does (history, results and report written), in a child process,
//     against the simulator alone doing the same requests without a
//     history in this process (the kernel benchmark's world):
//     run_vs_kernel is the ratio of their times (at most 2 wanted) and
//     run_rss_MB the child's peak memory (under 300 wanted).
//   - sweep: backend-crash over 100 and over 1000 seeds, each in a child:
//     sweep_rss_1000_vs_100 is the ratio of their peak memory (within
//     1.2 wanted) and sweep_disk_1000_MB the folder the 1000 seeds left.
//
// Run it alone: go test -run '^$' -bench Scale -benchtime 1x ./scenarios/
func BenchmarkScale(b *testing.B) {
	b.Run("million", func(b *testing.B) {
		lab, err := labfile.LoadFile(filepath.Join("testdata", "million.yaml"), nil)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			w := newSimWorld(lab, 1, nil)
			if err := w.Build(context.Background()); err != nil {
				b.Fatal(err)
			}
			w.proxy.RecordRequests = false
			start := time.Now()
			w.k.Run(lab.RunDuration())
			kernel := time.Since(start)
			wall, rss, _ := child(b, "million", 0)
			b.ReportMetric(kernel.Seconds(), "kernel_s")
			b.ReportMetric(wall.Seconds(), "run_s")
			b.ReportMetric(wall.Seconds()/kernel.Seconds(), "run_vs_kernel")
			b.ReportMetric(rss, "run_rss_MB")
		}
	})
	b.Run("sweep", func(b *testing.B) {
		for b.Loop() {
			_, rss100, _ := child(b, "sweep", 100)
			_, rss1000, disk := child(b, "sweep", 1000)
			b.ReportMetric(rss100, "sweep_rss_100_MB")
			b.ReportMetric(rss1000, "sweep_rss_1000_MB")
			b.ReportMetric(rss1000/rss100, "sweep_rss_1000_vs_100")
			b.ReportMetric(float64(disk)/1e6, "sweep_disk_1000_MB")
		}
	})
}
