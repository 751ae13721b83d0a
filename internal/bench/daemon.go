package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluttershy/face2face/testnet"
)

// DaemonBenchResult holds one figure per run of BenchDaemon.
type DaemonBenchResult struct {
	// StartToReady is from exec to the daemon's ready line: the host
	// listens on TCP and QUIC and the API serves.
	StartToReady []time.Duration
	// IdleRSS is the resident set size in bytes after the idle period.
	IdleRSS []int64
	// Shutdown is from SIGTERM to process exit.
	Shutdown []time.Duration
}

// BenchDaemon starts `bin daemon` on a fresh local-profile repo runs times,
// each time measuring start-to-ready, the RSS after idle has passed, and
// the time a clean shutdown takes. The idle wait is part of what is
// measured, not synchronisation.
func BenchDaemon(ctx context.Context, bin, dir string, runs int, idle time.Duration) (DaemonBenchResult, error) {
	var res DaemonBenchResult
	for i := 0; i < runs; i++ {
		repo := filepath.Join(dir, fmt.Sprintf("bench-daemon-%d", i))
		// Initialise outside the measurement.
		if err := testnet.EnsureRepo(repo); err != nil {
			return res, err
		}
		p, err := testnet.StartDaemon(ctx, bin, repo, "--no-bootstrap")
		if err != nil {
			return res, err
		}
		res.StartToReady = append(res.StartToReady, p.Ready.Sub(p.Started))
		select {
		case <-ctx.Done():
			p.Kill()
			return res, ctx.Err()
		case <-time.After(idle):
		}
		rss, err := ProcRSS(p.Cmd.Process.Pid)
		if err != nil {
			p.Kill()
			return res, err
		}
		res.IdleRSS = append(res.IdleRSS, rss)
		t0 := time.Now()
		if err := p.Stop(20 * time.Second); err != nil {
			return res, fmt.Errorf("shutdown: %w", err)
		}
		res.Shutdown = append(res.Shutdown, time.Since(t0))
	}
	return res, nil
}

// ProcRSS reads a process's resident set size (VmRSS) from /proc.
func ProcRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(v)
			if len(fields) < 1 {
				break
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Median returns the median of ds (0 for none).
func Median[T int64 | time.Duration | float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Max returns the largest of xs (0 for none).
func Max[T int64 | time.Duration](xs []T) T {
	var m T
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
