package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestBareGossipSub: the floor's harness delivers every message to every
// other host and times each delivery.
func TestBareGossipSub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := BareGossipSub(ctx, 4, 12, 50, 100, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Missing != 0 || len(res.Latencies) != 12*3 {
		t.Fatalf("%d deliveries timed, %d missing; want 36 and 0", len(res.Latencies), res.Missing)
	}
	if _, err := BareGossipSub(ctx, 1, 1, 1, 100, time.Second); err == nil {
		t.Error("a room of one was accepted")
	}
}

// TestBareIdle: the idle floor forms its mesh, measures for the window it
// is given and no longer, and stops when its context ends.
func TestBareIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := BareIdle(ctx, 1, time.Second); err == nil {
		t.Error("a room of one was accepted")
	}
	cores, err := BareIdle(ctx, 3, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if cores < 0 || cores > float64(runtime.NumCPU()) {
		t.Errorf("idle floor used %.3f cores of %d", cores, runtime.NumCPU())
	}
	// A set-up cut short closes the hosts it started (TestMain checks
	// for leaked goroutines).
	ended, end := context.WithCancel(ctx)
	end()
	if _, err := BareIdle(ended, 3, time.Second); err == nil {
		t.Error("an ended context formed a mesh")
	}
	short, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	start := time.Now()
	if _, err := BareIdle(short, 3, time.Hour); err == nil {
		t.Error("an hour's window ended without error in 3 s")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("an ended context took %v to stop the idle floor", d)
	}
}

// TestRoomIdleInProcess: an idle room is measured only when its nodes run
// in this process; with daemons of their own the process's CPU says
// nothing of them.
func TestRoomIdleInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newChatBenchRoom(func() error { return nil })
	defer c.Close()
	if _, err := c.Idle(ctx, 50*time.Millisecond); err != nil {
		t.Fatalf("in process: %v", err)
	}
	c.procs = true
	if _, err := c.Idle(ctx, 50*time.Millisecond); err == nil {
		t.Error("a room of daemon processes was measured in this process")
	}
}

// BenchmarkBareGossipSub is the chat benchmark's floor: plain go-libp2p
// hosts, GossipSub with default parameters, 200 messages of 100 bytes at
// 20 per second (b.N runs each):
//
//	go test -run '^$' -bench BareGossipSub -benchtime 1x ./internal/bench
func BenchmarkBareGossipSub(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var all []time.Duration
			missing := 0
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				res, err := BareGossipSub(ctx, n, 200, 20, 100, 30*time.Second)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				all = append(all, res.Latencies...)
				missing += res.Missing
			}
			b.ReportMetric(float64(Percentile(all, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(Percentile(all, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(Max(all).Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(missing), "missing")
		})
	}
}

// BenchmarkChatFloorAA is the A/A check of `f2f bench chat`'s goal: the
// floor measured against itself, two BareGossipSub runs back to back (200
// messages of 100 bytes at 20/s, as the chat benchmark's), b.N pairs per
// size. It reports the spread of the second run's p99 over the first's and
// how many pairs stay within the goal's ratio for that size (10 hosts:
// 1.2x, 50: 1.5x):
//
//	go test -run '^$' -bench ChatFloorAA -benchtime 8x -timeout 60m ./internal/bench
func BenchmarkChatFloorAA(b *testing.B) {
	for _, size := range []struct {
		n    int
		goal float64
	}{{10, 1.2}, {50, 1.5}} {
		b.Run(fmt.Sprintf("nodes=%d", size.n), func(b *testing.B) {
			var ratios []float64
			within := 0
			for range b.N {
				var p99 [2]time.Duration
				for i := range p99 {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					res, err := BareGossipSub(ctx, size.n, 200, 20, 100, 30*time.Second)
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					p99[i] = Percentile(res.Latencies, 0.99)
				}
				r := float64(p99[1]) / float64(max(p99[0], 1))
				ratios = append(ratios, r)
				if r <= size.goal {
					within++
				}
				b.Logf("pair %d: p99 %v then %v: %.2f", len(ratios), p99[0].Round(100*time.Microsecond), p99[1].Round(100*time.Microsecond), r)
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[0], "min-ratio")
			b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
			b.ReportMetric(ratios[len(ratios)-1], "max-ratio")
			b.ReportMetric(float64(within), "within-goal")
		})
	}
}
