//go:build opus && cgo

package media

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkMix measures the mixer's audio cost: per op, one 20 ms frame of
// 100 members, each with its own mixed stream (decode its packet, add it
// to the sum, subtract its own audio, encode its mix). streams/core is
// how many mixed streams one core keeps up with in real time.
func BenchmarkMix(b *testing.B) {
	const n = 100
	raw, err := os.ReadFile("../testnet/testdata/test.ogg")
	if err != nil {
		b.Fatal(err)
	}
	_, pkts, err := oggPackets(raw)
	if err != nil {
		b.Fatal(err)
	}
	m := &mixSession{mx: defaultMixer(), self: "mixer", inputs: map[peer.ID]*mixInput{}, outs: map[peer.ID]*mixOutput{},
		stopCh: make(chan struct{})}
	ids := make([]peer.ID, n)
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("member-%03d", i))
		if m.output(ids[i]) == nil {
			b.Fatal("no encoder")
		}
	}
	total := make([]int32, MixFrame)
	frame := make([]int16, MixFrame)
	out := make([]byte, 1500)
	c0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, id := range ids {
			m.feed(id, pkts[(i+j)%len(pkts)])
		}
		m.mixOnce(total, frame, out)
	}
	b.StopTimer()
	cpu := cpuTime() - c0
	perStream := cpu / time.Duration(b.N*n)
	b.ReportMetric(float64(perStream.Microseconds()), "µs/stream-frame")
	b.ReportMetric(float64(20*time.Millisecond)/float64(perStream), "streams/core")
	_, enc, dec := m.stats()
	b.ReportMetric(float64(enc)/1000/float64(b.N*n), "encode_µs")
	b.ReportMetric(float64(dec)/1000/float64(b.N*n), "decode_µs")
	m.stop()
}
