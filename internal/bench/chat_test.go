package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/fluttershy/face2face/testnet"
)

func chatBenchRoom(b *testing.B, n int) *ChatBenchRoom {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := NewChatBenchRoom(ctx, b.TempDir(), n, DefaultChatWarmUp, testnet.WithSeed(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// BenchmarkChatLatency measures publish-to-delivery latency: from Send on
// one member until every other member's node has stored the message and
// emitted its chat.message event (one op = one message to all members).
func BenchmarkChatLatency(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			c := chatBenchRoom(b, n)
			steadyProfile(b)
			var lat []time.Duration
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				l, err := c.Round(ctx)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, l...)
			}
			b.ReportMetric(float64(Percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(Percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkChatThroughput sends b.N messages from all members as fast as
// Send returns and measures the messages per second until every member has
// every message.
func BenchmarkChatThroughput(b *testing.B) {
	c := chatBenchRoom(b, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	rate, err := c.Burst(ctx, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "msgs/s")
}

// steadyProfile writes a CPU profile of the measured part of a benchmark
// (after the room formed and warmed up) to the file F2F_BENCH_CPUPROFILE
// names, when set; go test's -cpuprofile would include the set-up.
func steadyProfile(b *testing.B) {
	p := os.Getenv("F2F_BENCH_CPUPROFILE")
	if p == "" {
		return
	}
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	})
}
