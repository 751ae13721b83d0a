package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkElection: 6 nodes join a room; the time until all agree on a
// mixer, and from killing that mixer until the rest agree on another
// (p50 and p99 over b.N runs).
func BenchmarkElection(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	res, err := RunElectionBench(ctx, b.TempDir(), 6, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(Percentile(res.Join, 0.5).Milliseconds()), "join-p50-ms")
	b.ReportMetric(float64(Percentile(res.Join, 0.99).Milliseconds()), "join-p99-ms")
	b.ReportMetric(float64(Percentile(res.Failover, 0.5).Milliseconds()), "failover-p50-ms")
	b.ReportMetric(float64(Percentile(res.Failover, 0.99).Milliseconds()), "failover-p99-ms")
}
