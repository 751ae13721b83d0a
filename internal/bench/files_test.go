package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkFileGet: a 100 MiB get between two in-process nodes on
// loopback, next to a raw libp2p stream of 100 MiB between the same two
// hosts; reports MB/s of both and their ratio.
func BenchmarkFileGet(b *testing.B) {
	const size = 100 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var get, raw time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fb, err := NewFileBench(ctx, b.TempDir(), 1, size)
		if err != nil {
			b.Fatal(err)
		}
		r, err := RawStream(ctx, fb.Net.Nodes[0], fb.Net.Nodes[1], size)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		g, _, err := fb.Get(ctx, 1)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		get += g
		raw += r
		fb.Close()
	}
	mb := float64(size) / 1e6 * float64(b.N)
	b.ReportMetric(mb/get.Seconds(), "get-MB/s")
	b.ReportMetric(mb/raw.Seconds(), "raw-MB/s")
	b.ReportMetric(raw.Seconds()/get.Seconds(), "ratio")
}

// BenchmarkFileFanout: ten nodes get the same 100 MiB file at once from
// one that added it; the time until the last has it all.
func BenchmarkFileFanout(b *testing.B) {
	const size = 100 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var total time.Duration
	srcs := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fb, err := NewFileBench(ctx, b.TempDir(), 10, size)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		d, s, err := fb.Fanout(ctx)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		total += d
		for _, x := range s {
			srcs = max(srcs, len(x))
		}
		fb.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "fanout-s")
	b.ReportMetric(float64(srcs), "max-sources")
}

// TestBareBitswap: the files benchmark's floor moves the whole DAG.
func TestBareBitswap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	took, err := BareBitswap(ctx, 3<<20)
	if err != nil {
		t.Fatal(err)
	}
	if took <= 0 {
		t.Errorf("took %v", took)
	}
	if _, err := BareBitswap(ctx, 0); err == nil {
		t.Error("an empty file was accepted")
	}
}
