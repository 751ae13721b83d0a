package testnet

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

func BenchmarkTmpAlloc(b *testing.B) {
	c := chatBenchRoom(b, 50)
	f, _ := os.Create("/tmp/m0.out")
	pprof.Lookup("allocs").WriteTo(f, 0)
	f.Close()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := c.Round(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	f, _ = os.Create("/tmp/m1.out")
	pprof.Lookup("allocs").WriteTo(f, 0)
	f.Close()
}
