package media

import (
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// benchSvc is a service with only what newPC and hubs need.
func benchSvc() *Service {
	return &Service{params: DefaultParams(), ice: ICEConfig{LoopbackOnly: true}, events: func(Event) {}}
}

// connectPCs negotiates a (offerer, sending) to b (answerer) in-process,
// without trickle (loopback gathering is immediate).
func connectPCs(tb testing.TB, a, b *webrtc.PeerConnection) {
	tb.Helper()
	offer, err := a.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	ga := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-ga
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		tb.Fatal(err)
	}
	ans, err := b.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gb := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(ans); err != nil {
		tb.Fatal(err)
	}
	<-gb
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		tb.Fatal(err)
	}
}

// fwdRig is publisher → mixer (a hub) → k receivers over real pion
// PeerConnections on loopback.
type fwdRig struct {
	pcs      []*webrtc.PeerConnection
	pub      *webrtc.TrackLocalStaticRTP
	hub      *hub
	pushed   atomic.Uint64
	received atomic.Uint64 // at the receivers
	direct   *webrtc.TrackLocalStaticRTP
	lat      func(d time.Duration, viaMixer bool)
	wg       sync.WaitGroup
}

func newFwdRig(tb testing.TB, k int, lat func(time.Duration, bool)) *fwdRig {
	tb.Helper()
	s := benchSvc()
	r := &fwdRig{lat: lat}
	newPC := func() *webrtc.PeerConnection {
		pc, _, err := s.newPC("")
		if err != nil {
			tb.Fatal(err)
		}
		r.pcs = append(r.pcs, pc)
		return pc
	}
	var err error
	r.pub, err = webrtc.NewTrackLocalStaticRTP(capVP8, "video", "pub")
	if err != nil {
		tb.Fatal(err)
	}
	local, _ := webrtc.NewTrackLocalStaticRTP(capVP8, "video", "pub")
	r.hub = &hub{s: s, key: trackKey{kind: kindVideo, id: "video"}, local: local}
	readAll := func(pc *webrtc.PeerConnection, f func(*rtp.Packet)) {
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				for {
					p, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					f(p)
				}
			}()
		})
	}
	// Receivers first, so that the hub's track is bound when packets flow.
	for i := 0; i < k; i++ {
		out, in := newPC(), newPC()
		if _, err := out.AddTrack(local); err != nil {
			tb.Fatal(err)
		}
		readAll(in, func(p *rtp.Packet) {
			r.received.Add(1)
			if r.lat != nil {
				r.lat(sinceStamp(p.Payload), true)
			}
		})
		connectPCs(tb, out, in)
	}
	pubOut, mixIn := newPC(), newPC()
	if _, err := pubOut.AddTrack(r.pub); err != nil {
		tb.Fatal(err)
	}
	src := &source{pc: mixIn}
	readAll(mixIn, func(p *rtp.Packet) {
		r.hub.push(src, p)
		r.pushed.Add(1)
	})
	connectPCs(tb, pubOut, mixIn)
	if lat != nil {
		// The direct path, for comparison: publisher → receiver, one hop.
		r.direct, _ = webrtc.NewTrackLocalStaticRTP(capVP8, "video", "pub")
		dOut, dIn := newPC(), newPC()
		if _, err := dOut.AddTrack(r.direct); err != nil {
			tb.Fatal(err)
		}
		readAll(dIn, func(p *rtp.Packet) { r.lat(sinceStamp(p.Payload), false) })
		connectPCs(tb, dOut, dIn)
	}
	return r
}

func (r *fwdRig) close() {
	for _, pc := range r.pcs {
		_ = pc.Close()
	}
	r.wg.Wait()
}

var benchEpoch = time.Now()

// stampPayload is a VP8 payload (one-byte descriptor) carrying the send
// time.
func stampPayload(size int) []byte {
	b := make([]byte, size)
	b[0] = 0x10
	binary.LittleEndian.PutUint64(b[1:], uint64(time.Since(benchEpoch)))
	return b
}

func sinceStamp(p []byte) time.Duration {
	if len(p) < 9 {
		return 0
	}
	return time.Since(benchEpoch) - time.Duration(binary.LittleEndian.Uint64(p[1:9]))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkForward measures SFU forwarding: one publisher's packets (1000
// bytes) into the mixer's hub, out to 5 receivers. fwd_pkts/cpu_s counts
// every forwarded copy per CPU second of the whole process, which also
// runs the publisher and the 5 receivers (decrypting everything): a lower
// bound for the mixer alone.
func BenchmarkForward(b *testing.B) {
	const k = 5
	r := newFwdRig(b, k, nil)
	defer r.close()
	seq := uint16(0)
	send := func(n int) {
		for i := 0; i < n; i++ {
			seq++
			_ = r.pub.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 90, Marker: true}, Payload: stampPayload(1000)})
		}
	}
	// Warm up until the path carries packets.
	deadline := time.Now().Add(10 * time.Second)
	for r.received.Load() == 0 && time.Now().Before(deadline) {
		send(10)
		time.Sleep(10 * time.Millisecond)
	}
	if r.received.Load() == 0 {
		b.Fatal("no packets through the mixer")
	}
	p0, c0, t0 := r.pushed.Load(), cpuTime(), time.Now()
	b.ResetTimer()
	// Count pushes relative to this run.
	base := p0
	for i := 0; i < b.N; i++ {
		seq++
		for deadline := time.Now().Add(time.Second); uint64(i) > r.pushed.Load()-base+256 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Microsecond)
		}
		_ = r.pub.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 90, Marker: true}, Payload: stampPayload(1000)})
	}
	for deadline := time.Now().Add(2 * time.Second); r.pushed.Load()-base < uint64(b.N)*9/10 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	pushed := r.pushed.Load() - p0
	cpu, wall := cpuTime()-c0, time.Since(t0)
	fwd := float64(pushed * k)
	b.ReportMetric(fwd/cpu.Seconds(), "fwd_pkts/cpu_s")
	b.ReportMetric(fwd/wall.Seconds(), "fwd_pkts/s")
	b.ReportMetric(float64(pushed)/float64(b.N)*100, "%delivered_to_mixer")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores_busy")
}

// BenchmarkHopLatency measures the one-way latency publisher → receiver
// directly and through the mixer (500 packets a second), and reports the
// p50/p99 of each and the added latency of the mixer hop.
func BenchmarkHopLatency(b *testing.B) {
	var mu sync.Mutex
	var direct, via []time.Duration
	r := newFwdRig(b, 1, func(d time.Duration, viaMixer bool) {
		mu.Lock()
		if viaMixer {
			via = append(via, d)
		} else {
			direct = append(direct, d)
		}
		mu.Unlock()
	})
	defer r.close()
	seq := uint16(0)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	send := func() {
		seq++
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 90, Marker: true}, Payload: stampPayload(1000)}
		_ = r.pub.WriteRTP(p)
		_ = r.direct.WriteRTP(p)
	}
	for deadline := time.Now().Add(10 * time.Second); r.received.Load() == 0 && time.Now().Before(deadline); {
		send()
		<-tick.C
	}
	mu.Lock()
	direct, via = nil, nil
	mu.Unlock()
	b.ResetTimer()
	// Half the packets on each path, one path at a time, so that neither
	// waits for the other's CPU.
	for i := 0; i < b.N*500; i++ {
		seq++
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 90, Marker: true}, Payload: stampPayload(1000)}
		if i%2 == 0 {
			_ = r.direct.WriteRTP(p)
		} else {
			_ = r.pub.WriteRTP(p)
		}
		<-tick.C
	}
	// Wait (at most a second) for the last packets to land.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); <-tick.C {
		mu.Lock()
		n := len(direct) + len(via)
		mu.Unlock()
		if n >= b.N*500 {
			break
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(direct) == 0 || len(via) == 0 {
		b.Fatal("no samples")
	}
	pct := func(xs []time.Duration, p float64) float64 {
		slices.Sort(xs)
		return float64(xs[int(float64(len(xs)-1)*p)].Microseconds()) / 1000
	}
	d50, d99, v50, v99 := pct(direct, 0.5), pct(direct, 0.99), pct(via, 0.5), pct(via, 0.99)
	b.ReportMetric(d50, "direct_p50_ms")
	b.ReportMetric(d99, "direct_p99_ms")
	b.ReportMetric(v50, "via_mixer_p50_ms")
	b.ReportMetric(v99, "via_mixer_p99_ms")
	b.ReportMetric(v50-d50, "added_p50_ms")
	b.ReportMetric(v99-d99, "added_p99_ms")
}
