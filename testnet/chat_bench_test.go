package testnet

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"testing"
	"time"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

// roomNet starts n nodes (random bootstrap shape), puts them all in one
// room and waits until a probe from node0 reached every node.
func roomNet(b *testing.B, n int) (*Net, []<-chan node.Event) {
	b.Helper()
	net, err := New(b.TempDir(), n, WithShape(Random))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { net.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	info, err := net.Nodes[0].Rooms().Create(ctx, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	subs := make([]<-chan node.Event, n)
	for i, nd := range net.Nodes {
		if i > 0 {
			if _, err := nd.Rooms().Join(ctx, info.Key, ""); err != nil {
				b.Fatal(err)
			}
		}
		ch, unsub := nd.Subscribe(4096)
		b.Cleanup(unsub)
		subs[i] = ch
	}
	if err := WaitFor(ctx, func() (bool, error) {
		for _, nd := range net.Nodes {
			peers, err := nd.Rooms().Peers(ctx, "bench")
			if err != nil {
				return false, err
			}
			connected := 0
			for _, p := range peers {
				if p.Connected {
					connected++
				}
			}
			if connected < min(n-1, 4) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		b.Fatalf("room did not form: %v", err)
	}
	// Warm up: the gossip meshes settle and the post-meeting history syncs
	// run in the first seconds after a room forms; measure the steady state
	// after that (a bounded number of rounds, at most about 6 s).
	warm := time.Now()
	for i := 0; i < 100 && time.Since(warm) < 5*time.Second; i++ {
		text := fmt.Sprintf("warmup-%d", i)
		if _, err := net.Nodes[i%n].Rooms().Send(ctx, "bench", text); err != nil {
			b.Fatal(err)
		}
		for j := range net.Nodes {
			if _, err := waitText(ctx, subs[j], text); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range net.Nodes {
		drain(subs[i])
	}
	return net, subs
}

func drain(ch <-chan node.Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// waitText reads ch until the chat message text arrives and returns the
// time the node's event hub stamped on it.
func waitText(ctx context.Context, ch <-chan node.Event, text string) (time.Time, error) {
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%q not delivered: %w", text, ctx.Err())
		case ev := <-ch:
			if m, ok := ev.Data.(overlay.ChatMessage); ok && m.Text == text {
				return ev.Time, nil
			}
		}
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkChatLatency measures publish-to-delivery latency: from Send on
// one member until every other member's node has stored the message and
// emitted its chat.message event (one op = one message to all members).
func BenchmarkChatLatency(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			net, subs := roomNet(b, n)
			steadyProfile(b)

			var lat []time.Duration
			i := 0
			for b.Loop() {
				sender := i % n
				text := fmt.Sprintf("latency-%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				t0 := time.Now()
				if _, err := net.Nodes[sender].Rooms().Send(ctx, "bench", text); err != nil {
					b.Fatal(err)
				}
				for j := range net.Nodes {
					at, err := waitText(ctx, subs[j], text)
					if err != nil {
						b.Fatal(err)
					}
					if j != sender {
						lat = append(lat, at.Sub(t0))
					}
				}
				cancel()
				i++
			}
			b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkChatThroughput sends messages from all members as fast as Send
// returns and measures the messages per second until every member has
// every message.
func BenchmarkChatThroughput(b *testing.B) {
	const n = 10
	net, subs := roomNet(b, n)
	b.ResetTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := net.Nodes[i%n].Rooms().Send(ctx, "bench", fmt.Sprintf("tput-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	for j := range net.Nodes {
		if _, err := waitText(ctx, subs[j], fmt.Sprintf("tput-%d", b.N-1)); err != nil {
			b.Fatal(err)
		}
	}
	// Every member holds every message.
	if err := WaitFor(ctx, func() (bool, error) {
		for _, nd := range net.Nodes {
			log, err := nd.Rooms().Log(ctx, "bench", time.Time{}, 0)
			if err != nil {
				return false, err
			}
			c := 0
			for _, m := range log {
				if m.Kind == "chat" {
					c++
				}
			}
			if c < b.N {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
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
