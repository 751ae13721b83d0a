package media

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkCompose is the mixer's work for one composed output frame at
// 640x360/15 fps from N inputs of 640x360 at 30 fps: decoding two frames
// of every input (shared by all outputs), then composing and encoding the
// output. It reports the parts and how many outputs one core sustains:
// (1 s/15 - decoding) / (compose + encode).
func BenchmarkCompose(b *testing.B) {
	for _, n := range []int{4, 9} {
		b.Run(fmt.Sprintf("inputs=%d", n), func(b *testing.B) {
			p := DefaultParams().Compose
			c := &composeSession{p: p, inputs: map[trackKey]*videoIn{}, levels: map[peer.ID]*levelIn{}, outs: map[peer.ID]*composeOut{},
				labels: map[string]*image.Alpha{}, names: func(q peer.ID) string { return "member " + string(q) }, keyReq: func(trackKey) {}}
			streams := make([][][]byte, n)
			keys := make([]trackKey, n)
			for i := range n {
				streams[i] = mustFrames(b, 640, 360, 60, i)
				keys[i] = trackKey{origin: peer.ID(rune('a' + i)), kind: kindVideo, id: kindVideo}
			}
			if _, err := c.output("r"); err != nil {
				b.Fatal(err)
			}
			o := c.outs["r"]
			defer func() {
				o.enc.close()
				for _, in := range c.inputs {
					in.dec.close()
				}
			}()
			var tiles []*videoIn
			next := 0
			feed := func() {
				for i, k := range keys {
					// Loop the stream from its keyframe.
					f := streams[i][next%len(streams[i])]
					c.feedFrame(k, f)
				}
				next++
			}
			feed()
			tiles = c.liveInputs(time.Now())
			var decode, work time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				feed()
				feed()
				t1 := time.Now()
				c.composeFor(o, tiles, "")
				t2 := time.Now()
				decode += t1.Sub(t0)
				work += t2.Sub(t1)
			}
			b.StopTimer()
			dec := float64(decode.Microseconds()) / 1000 / float64(b.N)
			ce := float64(work.Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(dec, "decode-ms/frame")
			b.ReportMetric(ce, "compose+encode-ms/frame")
			b.ReportMetric((1000.0/float64(p.FPS)-dec)/ce, "outputs/core")
		})
	}
}

// BenchmarkComposeLatency runs a composition as the mixer does (its own
// ticker at 15 fps) with 4 inputs fed at 30 fps from their own goroutines
// and one output, for b.N output frames, and reports the latency from an
// input frame decoded to the first output frame showing it sent.
func BenchmarkComposeLatency(b *testing.B) {
	streams := make([][][]byte, 4)
	for i := range streams {
		streams[i] = mustFrames(b, 640, 360, 60, i)
	}
	p := DefaultParams().Compose
	b.ResetTimer()
	lat, err := compositionLatency(p, streams, func(q peer.ID) string { return string(q) }, time.Duration(max(b.N, 2*p.FPS))*time.Second/time.Duration(p.FPS))
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func mustFrames(b testing.TB, w, h, n, seed int) [][]byte {
	b.Helper()
	fs, err := cameraFrames(w, h, n, seed)
	if err != nil {
		b.Fatal(err)
	}
	return fs
}
