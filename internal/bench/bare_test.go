package bench

import (
	"context"
	"fmt"
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
