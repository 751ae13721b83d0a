package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

var sink []byte

// churn allocates about mb MiB of garbage, a MiB at a time.
func churn(mb int) {
	for range mb {
		sink = make([]byte, 1<<20)
	}
}

// TestHoldGC: with SetHoldGC on, a measured window sees no collection
// however much garbage is made in it, the collector's settings come back
// after it, and with it off the same garbage is collected.
func TestHoldGC(t *testing.T) {
	cycles := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	percent := debug.SetGCPercent(100) // what the process runs with
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	SetHoldGC(true)
	release := gcHold()
	before := cycles()
	churn(256)
	held := cycles() - before
	release()
	SetHoldGC(false)
	if held != 0 {
		t.Errorf("%d collections while held", held)
	}
	if p := debug.SetGCPercent(percent); p != percent {
		t.Errorf("GC percent %d after the window, want %d", p, percent)
	}
	if l := debug.SetMemoryLimit(-1); l != limit {
		t.Errorf("memory limit %d after the window, want %d", l, limit)
	}

	release = gcHold() // off: does nothing
	before = cycles()
	churn(256)
	release()
	if cycles() == before {
		t.Error("no collection without the hold: the test shows nothing")
	}
}

// TestHoldGCWindow: the floor's measured window runs with the collector
// held when SetHoldGC is on, and says so in its GC figures.
func TestHoldGCWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func() GCWork {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					churn(1) // about 200 MiB/s: within the hold's headroom
				}
			}
		})
		res, err := BareGossipSub(ctx, 4, 40, 50, 100, 10*time.Second)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		return res.GC
	}
	SetHoldGC(true)
	held := run()
	SetHoldGC(false)
	if held.Cycles != 0 {
		t.Errorf("%d collections in the held window", held.Cycles)
	}
	if free := run(); free.Cycles == 0 {
		t.Error("no collection in the window without the hold: the test shows nothing")
	}
}
