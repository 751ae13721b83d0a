package media

import (
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrComposeNeedsStar: composed video is made by the mixer of a star.
var ErrComposeNeedsStar = errors.New("composed video needs a star room")

// ComposeStats describes video composition on this node (when it is the
// mixer and composes for someone).
type ComposeStats struct {
	Receivers int    `json:"receivers"`
	Inputs    int    `json:"inputs"`
	Frames    uint64 `json:"frames"`
	Decoded   uint64 `json:"decoded"`
	Size      string `json:"size"`
	FPS       int    `json:"fps"`
	// FrameMS is the recent CPU time of one output frame (compose and
	// encode); ComposeMS, EncodeMS and DecodeMS are the means per output
	// frame (decode: per decoded input frame).
	FrameMS   float64 `json:"frame_ms"`
	ComposeMS float64 `json:"compose_ms"`
	EncodeMS  float64 `json:"encode_ms"`
	DecodeMS  float64 `json:"decode_ms"`
	// LatencyP50MS and LatencyP99MS: from an input frame decoded at the
	// mixer to the first composed frame showing it sent.
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	// BudgetMS is the CPU a second composing may take (ms).
	BudgetMS float64 `json:"budget_ms"`
	Speaker  string  `json:"speaker,omitempty"`
}

// composeCalib is the process's measured composition cost before any
// composing: one machine, one figure.
var composeCalib struct {
	once sync.Once
	d    time.Duration
}

// ComposeCost returns the CPU time of one composed frame on this node: the
// measured one while it composes, else a calibration (4 inputs at the
// configured size, composed and VP8-encoded; measured once per process).
func (s *Service) ComposeCost() time.Duration {
	s.mu.Lock()
	var c *composeSession
	for _, rm := range s.media {
		if rm.compose != nil {
			c = rm.compose
			break
		}
	}
	s.mu.Unlock()
	if c != nil {
		if ns := c.costNS.Load(); ns > 0 {
			return time.Duration(ns)
		}
	}
	composeCalib.once.Do(func() { composeCalib.d = calibrateCompose(s.params.Compose) })
	return composeCalib.d
}

// calibrateCompose composes and encodes a few frames of four tiles and
// returns the median time of one.
func calibrateCompose(p ComposeParams) time.Duration {
	enc, err := newVP8Encoder(p.Width, p.Height, p.FPS, p.Kbps)
	if err != nil {
		return time.Second
	}
	defer enc.close()
	c := &composeSession{p: p, labels: map[string]*image.Alpha{}, names: func(peer.ID) string { return "calibration" }}
	var tiles []*videoIn
	for i := range 4 {
		in := &videoIn{key: trackKey{origin: peer.ID(rune('a' + i)), kind: kindVideo, id: kindVideo}, seq: 1}
		in.pic.resize(640, 480)
		in.pic.fill(0, byte(60*i), byte(200-40*i))
		for j := range in.pic.Y {
			in.pic.Y[j] = byte(j*(i+3) + j/640)
		}
		tiles = append(tiles, in)
	}
	o := &composeOut{enc: enc, out: make([]byte, 512<<10), seen: map[trackKey]uint64{}}
	o.canvas.resize(p.Width, p.Height)
	o.track, _ = webrtc.NewTrackLocalStaticSample(capVP8, trackGrid, "calibration")
	var ds []time.Duration
	for i := range 9 {
		for _, in := range tiles {
			in.seq++
			in.pic.Y[i*97%len(in.pic.Y)]++ // a changing picture
		}
		t0 := time.Now()
		c.composeFor(o, tiles, "")
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// admitCompose decides whether this node composes video for r in room:
// it must be the mixer of a star, and one more output must fit the CPU
// budget at the measured cost.
func (s *Service) admitCompose(room string, r peer.ID) (bool, string) {
	t, ok := s.rooms.MediaTopology(room)
	if !ok || !t.Star || t.Mixer != s.self {
		return false, ErrComposeNeedsStar.Error() + ": only the mixer of a star room composes video"
	}
	cost := s.ComposeCost()
	s.mu.Lock()
	outs := 0
	if rm := s.media[room]; rm != nil {
		for p, e := range rm.out {
			if p != r && e.wantsVideo() {
				outs++
			}
		}
	}
	s.mu.Unlock()
	p := s.params.Compose
	need := time.Duration(outs+1) * cost * time.Duration(p.FPS)
	budget := time.Duration(p.Budget * float64(time.Second))
	if need > budget {
		return false, fmt.Sprintf("composed video for %d member(s) would take about %.0f ms of CPU a second (%.1f ms a frame at %d fps), over this node's budget of %.1f ms",
			outs+1, need.Seconds()*1000, cost.Seconds()*1000, p.FPS, budget.Seconds()*1000)
	}
	return true, ""
}

// shedCompose stops composing for r (over budget) and tells it why.
func (s *Service) shedCompose(room string, r peer.ID, reason string) {
	s.mu.Lock()
	var e *outEdge
	if rm := s.media[room]; rm != nil {
		e = rm.out[r]
	}
	s.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	e.video, e.videoErr = false, reason
	conn, mix := e.conn, e.mix
	e.mu.Unlock()
	if conn != nil {
		no := false
		_ = conn.write(signalMsg{Type: sigMixed, Mix: &mix, Video: &no, VReason: reason})
	}
	s.emit("media.compose_shed", map[string]any{"room": room, "peer": r.String(), "reason": reason})
	s.kick()
}

// composeTrackLocked returns receiver r's composed track, starting the
// room's composition if needed.
func (s *Service) composeTrackLocked(rm *roomMedia, r peer.ID) webrtc.TrackLocal {
	if rm.compose == nil {
		room := rm.hash
		names := func(p peer.ID) string {
			if s.names != nil {
				if n := s.names(room, p); n != "" {
					return n
				}
			}
			return tileName(p)
		}
		rm.compose = newComposeSession(s.params.Compose, s.self, s.mixer, names,
			func(k trackKey) { s.requestUpstreamKeyframe(room, k) },
			func(p peer.ID, why string) {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.shedCompose(room, p, why)
				}()
			})
	}
	tr, err := rm.compose.output(r)
	if err != nil {
		s.log.Debug("compose output", "err", err)
		return nil
	}
	return tr
}

func tileName(p peer.ID) string {
	s := p.String()
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

// reconcileComposeLocked starts or stops the room's composition and points
// the video streams (and, for the active speaker, the audio) at it.
func (s *Service) reconcileComposeLocked(rm *roomMedia, want map[peer.ID][]sendTrack) {
	keep := map[peer.ID]bool{}
	for r, ts := range want {
		for _, t := range ts {
			if t.key.id == trackGrid {
				keep[r] = true
			}
		}
	}
	if len(keep) == 0 {
		if rm.compose != nil {
			c := rm.compose
			rm.compose = nil
			for _, hb := range rm.hubs {
				hb.setComposeIn(nil)
			}
			rm.pub.setVideoTap(nil)
			rm.live.setVideoTap(nil)
			rm.levelTap = nil
			rm.applyOwnAudioTap()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				c.stop()
			}()
		}
		return
	}
	c := rm.compose
	c.keepOutputs(keep)
	inputs, speakers := map[trackKey]bool{}, map[peer.ID]bool{}
	for _, hb := range rm.hubs {
		key := hb.key
		switch {
		case key.origin == s.self || key.id == trackMix || key.id == trackGrid:
			continue
		case key.kind == kindVideo:
			inputs[key] = true
			hb.setComposeIn(func(p *rtp.Packet) { c.feedRTP(key, p) })
		case key.kind == kindAudio:
			speakers[key.origin] = true
			origin := key.origin
			hb.setComposeIn(func(p *rtp.Packet) { c.feedAudio(origin, p.Payload) })
		}
	}
	self := s.self
	if rm.pub != nil || rm.live != nil {
		speakers[self] = true
		for _, id := range []string{kindVideo, trackScreen} {
			inputs[trackKey{origin: self, kind: kindVideo, id: id}] = true
		}
		rm.pub.setVideoTap(func(frame []byte) { c.feedFrame(trackKey{origin: self, kind: kindVideo, id: kindVideo}, frame) })
		rm.live.setVideoTap(func(id string, p *rtp.Packet) { c.feedRTP(trackKey{origin: self, kind: kindVideo, id: id}, p) })
		rm.levelTap = func(b []byte) { c.feedAudio(self, b) }
	} else {
		rm.levelTap = nil
	}
	rm.applyOwnAudioTap()
	c.dropInputs(inputs, speakers)
}

// applyOwnAudioTap hands the node's own sent audio to the audio mix and
// the speaker detection, whichever run.
func (rm *roomMedia) applyOwnAudioTap() {
	mix, level := rm.mixTap, rm.levelTap
	switch {
	case mix == nil && level == nil:
		rm.setOwnAudioTap(nil)
	case level == nil:
		rm.setOwnAudioTap(mix)
	case mix == nil:
		rm.setOwnAudioTap(level)
	default:
		rm.setOwnAudioTap(func(b []byte) { mix(b); level(b) })
	}
}

// composeStats returns the room's composition figures (nil: none).
func (s *Service) composeStats(c *composeSession) *ComposeStats {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	cs := &ComposeStats{Receivers: len(c.outs), Inputs: len(c.inputs)}
	c.mu.RUnlock()
	p := c.p
	cs.Size, cs.FPS = fmt.Sprintf("%dx%d", p.Width, p.Height), p.FPS
	cs.Frames, cs.Decoded = c.frames.Load(), c.decoded.Load()
	cs.FrameMS = float64(c.costNS.Load()) / 1e6
	if cs.Frames > 0 {
		cs.ComposeMS = float64(c.composeNS.Load()) / 1e6 / float64(cs.Frames)
		cs.EncodeMS = float64(c.encodeNS.Load()) / 1e6 / float64(cs.Frames)
	}
	if cs.Decoded > 0 {
		cs.DecodeMS = float64(c.decodeNS.Load()) / 1e6 / float64(cs.Decoded)
	}
	if lat := c.latencies(); len(lat) > 0 {
		slices.Sort(lat)
		cs.LatencyP50MS = float64(lat[len(lat)/2].Microseconds()) / 1000
		cs.LatencyP99MS = float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()) / 1000
	}
	cs.BudgetMS = p.Budget * 1000
	if sp := c.activeSpeaker(); sp != "" {
		cs.Speaker = sp.String()
	}
	return cs
}

// gridFrame notes a composed frame received from mixer: when it comes
// from another mixer than the frame before, the pause between them is the
// composition's gap at a mixer change (stats and a media.gap event).
func (s *Service) gridFrame(room string, from peer.ID, now time.Time) {
	s.mu.Lock()
	rm := s.media[room]
	if rm == nil {
		s.mu.Unlock()
		return
	}
	var gap *Gap
	if rm.gridFrom != "" && rm.gridFrom != from && !rm.gridAt.IsZero() {
		g := Gap{At: now, MS: float64(now.Sub(rm.gridAt).Microseconds()) / 1000, Origin: trackGrid, Kind: kindVideo,
			Via: from.String(), Reroute: true}
		rm.gridGaps = append(rm.gridGaps, g)
		if len(rm.gridGaps) > 32 {
			rm.gridGaps = rm.gridGaps[1:]
		}
		gap = &g
	}
	rm.gridFrom, rm.gridAt = from, now
	s.mu.Unlock()
	if gap != nil {
		s.emit("media.gap", map[string]any{"room": room, "origin": gap.Origin, "kind": gap.Kind, "ms": gap.MS, "via": gap.Via, "reroute": true})
	}
}
