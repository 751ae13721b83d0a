package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"time"
)

// The fixed-rate measurement BareGossipSub and ChatBenchRoom.Rate share:
// message k of messages goes out k/rate seconds after the first, by member
// k%n, and got[i][k] is when member i received it (zero: not yet).

// pace calls send(k) for every message at its time; it stops at the first
// error or when ctx ends.
func pace(ctx context.Context, messages int, rate float64, send func(k int) error) error {
	every := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for k := range messages {
		if d := time.Until(start.Add(time.Duration(k) * every)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		if err := send(k); err != nil {
			return err
		}
	}
	return nil
}

// missingDeliveries counts the receptions still missing in got (a member's
// own messages do not count).
func missingDeliveries(got [][]time.Time) int {
	n, m := len(got), 0
	for i := range got {
		for k, at := range got[i] {
			if k%n != i && at.IsZero() {
				m++
			}
		}
	}
	return m
}

// awaitDeliveries polls missing until it is 0, grace has passed or ctx
// ended.
func awaitDeliveries(ctx context.Context, grace time.Duration, missing func() int) {
	deadline := time.Now().Add(grace)
	for missing() > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tallyDeliveries turns got and the send times into every delivery's
// latency, per member and message (0: its own, -1: missing), and the
// number missing.
func tallyDeliveries(got [][]time.Time, sent []time.Time) (lat []time.Duration, byMember [][]time.Duration, missing int) {
	n := len(got)
	byMember = make([][]time.Duration, n)
	for i := range got {
		byMember[i] = make([]time.Duration, len(got[i]))
		for k, at := range got[i] {
			switch {
			case k%n == i:
			case at.IsZero():
				missing++
				byMember[i][k] = -1
			default:
				d := at.Sub(sent[k])
				byMember[i][k] = d
				lat = append(lat, d)
			}
		}
	}
	return lat, byMember, missing
}

// cpuMeter measures the process's CPU time per second of wall time from
// its start (the cores the in-process nodes used), and the Go collector's
// cycles and CPU time meanwhile.
type cpuMeter struct {
	cpu  time.Duration
	wall time.Time
	gc   gcSample
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcSample is the collector's totals so far: completed cycles, and the
// runtime's CPU estimates (seconds) for the collector, idle and in all.
type gcSample struct {
	cycles          uint64
	gc, idle, total float64
}

func readGC() gcSample {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/idle:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	f := func(x metrics.Sample) float64 {
		if x.Value.Kind() == metrics.KindFloat64 {
			return x.Value.Float64()
		}
		return 0
	}
	g := gcSample{gc: f(s[1]), idle: f(s[2]), total: f(s[3])}
	if s[0].Value.Kind() == metrics.KindUint64 {
		g.cycles = s[0].Value.Uint64()
	}
	return g
}

func startCPU() cpuMeter { return cpuMeter{cpu: processCPU(), wall: time.Now(), gc: readGC()} }

// cores is the CPU time used since start divided by the wall time.
func (m cpuMeter) cores() float64 {
	return float64(processCPU()-m.cpu) / float64(max(time.Since(m.wall), 1))
}

// gcSince is the collector's work since start.
func (m cpuMeter) gcSince() GCWork {
	g := readGC()
	w := GCWork{Cycles: int(g.cycles - m.gc.cycles)}
	if busy := (g.total - m.gc.total) - (g.idle - m.gc.idle); busy > 0 {
		w.Share = (g.gc - m.gc.gc) / busy
	}
	return w
}

// GCWork is what the Go collector did in this process during a
// measurement: the cycles that completed, and its share of the CPU the
// process used (the runtime's estimate: marking, assists, pauses). With
// the nodes in the process a cycle marks every node's heap at once, and
// every member's deliveries wait while it does.
type GCWork struct {
	Cycles int
	Share  float64
}

// holdGC is SetHoldGC's switch.
var holdGC atomic.Bool

// HoldGCHeadroom is how far the heap may grow past its size at the start of
// a measured window while the collector is held (SetHoldGC): reaching it
// runs a cycle after all.
const HoldGCHeadroom = 2 << 30

// SetHoldGC, when on, keeps the Go collector from starting a cycle while a
// Rate or BareGossipSub run sends and awaits its messages (a diagnostic,
// `f2f bench chat --hold-gc`): each such window then starts right after a
// full collection, and the heap may grow by HoldGCHeadroom in it. With the
// nodes in one process a cycle marks every node's heap at once and every
// member's deliveries wait while it does; nodes in processes of their own
// do not share that. The collector's setting is the process's, and so is
// this switch.
func SetHoldGC(on bool) { holdGC.Store(on) }

// gcHold starts a measured window: with SetHoldGC on it collects, holds the
// collector and returns what lets it go again; otherwise it does nothing.
func gcHold() (release func()) {
	if !holdGC.Load() {
		return func() {}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := debug.SetMemoryLimit(int64(ms.HeapAlloc) + HoldGCHeadroom)
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
