package media

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Audio mixing works on 20 ms frames of 48 kHz mono PCM.
const (
	MixRate    = 48000
	MixFrame   = 960 // samples per 20 ms
	mixFrameMS = 20
	// MixBitrate is the bitrate of each mixed stream.
	MixBitrate = 32000
	// mixQueue is the most decoded frames an input may have waiting; older
	// ones are dropped (bounded latency).
	mixQueue = 4
)

// AudioMixer makes Opus decoders and encoders. The default build has none
// (Available says why); built with -tags opus it is libopus through cgo.
type AudioMixer interface {
	// Available returns nil when mixing works, else why it does not.
	Available() error
	NewDecoder() (OpusDecoder, error)
	NewEncoder(bitrate int) (OpusEncoder, error)
}

// OpusDecoder decodes Opus packets to 48 kHz mono PCM.
type OpusDecoder interface {
	// Decode decodes pkt into pcm and returns the number of samples; a nil
	// pkt asks for packet-loss concealment.
	Decode(pkt []byte, pcm []int16) (int, error)
	Close()
}

// OpusEncoder encodes 20 ms frames of 48 kHz mono PCM.
type OpusEncoder interface {
	Encode(pcm []int16, out []byte) (int, error)
	Close()
}

// MixingAvailable returns nil when this node can mix audio, else why not.
func (s *Service) MixingAvailable() error { return s.mixer.Available() }

func (m *mixSession) inputCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inputs)
}

func (m *mixSession) outputCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.outs)
}

// stats returns the frames mixed and the total encode and decode time.
func (m *mixSession) stats() (frames, encNS, decNS uint64) {
	return m.frames.Load(), m.encNS.Load(), m.decNS.Load()
}

// mixInput is one origin's decoded audio waiting to be mixed.
type mixInput struct {
	dec   OpusDecoder
	queue [][]int16
	idle  int
}

// mixOutput is one receiver's mixed stream.
type mixOutput struct {
	enc   OpusEncoder
	track *webrtc.TrackLocalStaticSample
}

// mixSession mixes a room's audio on the mixer: it decodes every
// publisher's stream, and every 20 ms sums all of them and, per receiver,
// subtracts the receiver's own, then encodes one stream per receiver.
// Concurrency: mu guards inputs and outs; one goroutine ticks.
type mixSession struct {
	mx     AudioMixer
	self   peer.ID
	mu     sync.Mutex
	inputs map[peer.ID]*mixInput
	outs   map[peer.ID]*mixOutput
	stopCh chan struct{}
	wg     sync.WaitGroup

	frames atomic.Uint64
	encNS  atomic.Uint64
	decNS  atomic.Uint64
}

func newMixSession(mx AudioMixer, self peer.ID) *mixSession {
	m := &mixSession{mx: mx, self: self, inputs: map[peer.ID]*mixInput{}, outs: map[peer.ID]*mixOutput{},
		stopCh: make(chan struct{})}
	m.wg.Add(1)
	go m.run()
	return m
}

func (m *mixSession) stop() {
	close(m.stopCh)
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, in := range m.inputs {
		in.dec.Close()
	}
	for _, o := range m.outs {
		o.enc.Close()
	}
	m.inputs, m.outs = map[peer.ID]*mixInput{}, map[peer.ID]*mixOutput{}
}

// output returns the receiver's mixed track, creating its encoder.
func (m *mixSession) output(r peer.ID) *webrtc.TrackLocalStaticSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.outs[r]; o != nil {
		return o.track
	}
	enc, err := m.mx.NewEncoder(MixBitrate)
	if err != nil {
		return nil
	}
	tr, err := webrtc.NewTrackLocalStaticSample(capOpus, trackMix, m.self.String())
	if err != nil {
		enc.Close()
		return nil
	}
	m.outs[r] = &mixOutput{enc: enc, track: tr}
	return tr
}

// keepOutputs drops the outputs of receivers no longer mixed for.
func (m *mixSession) keepOutputs(keep map[peer.ID]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for r, o := range m.outs {
		if !keep[r] {
			o.enc.Close()
			delete(m.outs, r)
		}
	}
}

// feed decodes one packet of origin's audio.
func (m *mixSession) feed(origin peer.ID, payload []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.inputs[origin]
	if in == nil {
		dec, err := m.mx.NewDecoder()
		if err != nil {
			return
		}
		in = &mixInput{dec: dec}
		m.inputs[origin] = in
	}
	pcm := make([]int16, 6*MixFrame)
	t0 := time.Now()
	n, err := in.dec.Decode(payload, pcm)
	m.decNS.Add(uint64(time.Since(t0)))
	if err != nil || n <= 0 {
		return
	}
	pcm = pcm[:n]
	for len(pcm) >= MixFrame {
		in.queue = append(in.queue, pcm[:MixFrame:MixFrame])
		pcm = pcm[MixFrame:]
	}
	if len(in.queue) > mixQueue {
		in.queue = in.queue[len(in.queue)-mixQueue:]
	}
	in.idle = 0
}

// dropInputs removes inputs whose origin is not in keep.
func (m *mixSession) dropInputs(keep map[peer.ID]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, in := range m.inputs {
		if !keep[p] {
			in.dec.Close()
			delete(m.inputs, p)
		}
	}
}

func (m *mixSession) run() {
	defer m.wg.Done()
	t := time.NewTicker(mixFrameMS * time.Millisecond)
	defer t.Stop()
	total := make([]int32, MixFrame)
	frame := make([]int16, MixFrame)
	out := make([]byte, 1500)
	for {
		select {
		case <-m.stopCh:
			return
		case <-t.C:
		}
		m.mixOnce(total, frame, out)
	}
}

// mixOnce mixes and sends one 20 ms frame to every output.
func (m *mixSession) mixOnce(total []int32, frame []int16, out []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(total)
	cur := make(map[peer.ID][]int16, len(m.inputs))
	for p, in := range m.inputs {
		if len(in.queue) == 0 {
			in.idle++
			continue
		}
		f := in.queue[0]
		in.queue = in.queue[1:]
		cur[p] = f
		for i, v := range f {
			total[i] += int32(v)
		}
	}
	for r, o := range m.outs {
		own := cur[r]
		for i := range frame {
			v := total[i]
			if own != nil {
				v -= int32(own[i])
			}
			frame[i] = int16(max(-32768, min(32767, v)))
		}
		t0 := time.Now()
		n, err := o.enc.Encode(frame, out)
		m.encNS.Add(uint64(time.Since(t0)))
		if err != nil || n <= 0 {
			continue
		}
		_ = o.track.WriteSample(media.Sample{Data: append([]byte(nil), out[:n]...), Duration: mixFrameMS * time.Millisecond})
	}
	m.frames.Add(1)
}

// mixTrackLocked returns receiver r's mixed track, starting the room's mix
// session if needed.
func (s *Service) mixTrackLocked(rm *roomMedia, r peer.ID) webrtc.TrackLocal {
	if rm.mix == nil {
		rm.mix = newMixSession(s.mixer, s.self)
	}
	if tr := rm.mix.output(r); tr != nil {
		return tr
	}
	return nil
}

// reconcileMixLocked starts or stops the room's mix session and points the
// audio streams at it.
func (s *Service) reconcileMixLocked(rm *roomMedia, want map[peer.ID][]sendTrack) {
	keep := map[peer.ID]bool{}
	for r, ts := range want {
		for _, t := range ts {
			if t.key.id == trackMix {
				keep[r] = true
			}
		}
	}
	if len(keep) == 0 {
		if rm.mix != nil {
			mix := rm.mix
			rm.mix = nil
			for _, hb := range rm.hubs {
				hb.setMixIn(nil)
			}
			rm.mixTap = nil
			rm.applyOwnAudioTap()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				mix.stop()
			}()
		}
		return
	}
	mix := rm.mix
	mix.keepOutputs(keep)
	origins := map[peer.ID]bool{}
	for _, hb := range rm.hubs {
		if hb.key.kind != kindAudio || hb.key.id != kindAudio {
			continue
		}
		origin := hb.key.origin
		origins[origin] = true
		hb.setMixIn(func(p *rtp.Packet) { mix.feed(origin, p.Payload) })
	}
	if rm.pub != nil || rm.live != nil {
		origins[s.self] = true
		self := s.self
		rm.mixTap = func(b []byte) { mix.feed(self, b) }
	} else {
		rm.mixTap = nil
	}
	rm.applyOwnAudioTap()
	mix.dropInputs(origins)
}
