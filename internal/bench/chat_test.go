package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
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

// BenchmarkChatRate is `f2f bench chat`'s measurement: 200 messages of
// 100 bytes at 20 per second, from the members in turn, every delivery
// timed, next to BareGossipSub's run of the same (b.N runs each):
//
//	go test -run '^$' -bench ChatRate -benchtime 1x ./internal/bench
func BenchmarkChatRate(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var lat, bare []time.Duration
			missing, bareMissing := 0, 0
			var cores, bareCores float64
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				br, err := BareGossipSub(ctx, n, 200, 20, 100, 30*time.Second)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				bare, bareMissing, bareCores = append(bare, br.Latencies...), bareMissing+br.Missing, bareCores+br.Cores
				c := chatBenchRoom(b, n)
				steadyProfile(b)
				ctx, cancel = context.WithTimeout(context.Background(), 5*time.Minute)
				r, err := c.Rate(ctx, 200, 20, 100, 30*time.Second)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				heapProfile(b)
				_ = c.Close()
				if p := os.Getenv("F2F_BENCH_SLOWEST"); p != "" {
					var s strings.Builder
					for i, ds := range r.ByMember {
						fmt.Fprintf(&s, "node%d", i)
						for _, d := range ds {
							fmt.Fprintf(&s, " %d", d.Milliseconds())
						}
						fmt.Fprintln(&s)
					}
					_ = os.WriteFile(p, []byte(s.String()), 0o644)
				}
				lat, missing, cores = append(lat, r.Latencies...), missing+r.Missing, cores+r.Cores
			}
			b.ReportMetric(float64(Percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(Percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(Max(lat).Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(missing), "missing")
			b.ReportMetric(float64(Percentile(bare, 0.99).Microseconds())/1000, "bare-p99-ms")
			b.ReportMetric(float64(Percentile(bare, 0.99))/float64(max(1, Percentile(lat, 0.99))), "bare/f2f-p99")
			b.ReportMetric(float64(bareMissing), "bare-missing")
			b.ReportMetric(cores/float64(b.N), "cores")
			b.ReportMetric(bareCores/float64(b.N), "bare-cores")
		})
	}
}

// BenchmarkRoomIdle measures what a room costs when nobody talks: the
// cores this process uses over 15 s of a formed and warmed-up room of n
// real nodes, next to as many bare GossipSub hosts in one topic (b.N runs
// each):
//
//	go test -run '^$' -bench RoomIdle -benchtime 3x ./internal/bench
func BenchmarkRoomIdle(b *testing.B) {
	const window = 15 * time.Second
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var room, bare []float64
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				bc, err := BareIdle(ctx, n, window)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				c := chatBenchRoom(b, n)
				ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
				rc, err := c.Idle(ctx, window)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				_ = c.Close()
				b.Logf("run %d: room %.3f cores, bare %.3f", len(room)+1, rc, bc)
				room, bare = append(room, rc), append(bare, bc)
			}
			b.ReportMetric(Median(room), "cores")
			b.ReportMetric(Median(bare), "bare-cores")
		})
	}
}

// heapProfile writes the live heap of the room after the measured part
// to the file F2F_BENCH_HEAPPROFILE names, and its goroutines (grouped by
// stack) to the one F2F_BENCH_GOROUTINES names, when set.
func heapProfile(b *testing.B) {
	if p := os.Getenv("F2F_BENCH_GOROUTINES"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		err = pprof.Lookup("goroutine").WriteTo(f, 1)
		_ = f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	p := os.Getenv("F2F_BENCH_HEAPPROFILE")
	if p == "" {
		return
	}
	runtime.GC()
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
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
	if p := os.Getenv("F2F_BENCH_TRACE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := trace.Start(f); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			trace.Stop()
			_ = f.Close()
		})
	}
}
