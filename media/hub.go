package media

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"
)

// Track kinds and ids. A publisher's tracks are "video" and "audio" in the
// stream named by its peer ID; a mixer's mixed audio is "mix".
const (
	kindVideo = "video"
	kindAudio = "audio"
	trackMix  = "mix"
)

// trackKey names a stream: whose it is (the origin publisher, whichever
// path it arrives on) and which of its tracks.
type trackKey struct {
	origin peer.ID
	kind   string // kindVideo or kindAudio
	id     string // "video", "audio" or "mix"
}

// source is one path a stream arrives on: a remote track of an inbound
// PeerConnection.
type source struct {
	from peer.ID
	pc   *webrtc.PeerConnection
	ssrc uint32
}

// Gap is a pause in a received stream's frames.
type Gap struct {
	At     time.Time `json:"at"`
	MS     float64   `json:"ms"`
	Origin string    `json:"origin"`
	Kind   string    `json:"kind"`
	// Via is the peer the stream came from after the gap.
	Via string `json:"via"`
	// Reroute is true when the stream came on a new path after the gap
	// (recorded whatever its length); otherwise the gap was at least
	// Params.GapReport on the same path.
	Reroute bool `json:"reroute,omitempty"`
}

// hub is a received stream (one origin's track). Whatever path carries it
// (directly from the publisher, or through the mixer; two paths briefly
// while the route changes) feeds it; it forwards the packets to its local
// track (bound to sending edges when this node is the mixer), to the
// recording sink and to the audio mixer, and keeps the receive statistics.
// Concurrency: mu guards everything but key and s.
type hub struct {
	s    *Service
	room string
	key  trackKey

	mu        sync.Mutex
	local     *webrtc.TrackLocalStaticRTP
	active    *source
	lastAt    time.Time
	sink      sink
	mixIn     func(*rtp.Packet)
	compIn    func(*rtp.Packet) // the composition (video, or audio levels)
	sources   int
	packets   uint64
	bytes     uint64
	frames    uint64
	dropped   uint64
	lastFrame time.Time
	maxGap    time.Duration
	gaps      []Gap
	lastPLI   time.Time
	pliSent   uint64
	rerouted  bool   // a new path since the last frame
	lastTS    uint32 // RTP timestamp of the last frame counted
	pktTS     uint32 // RTP timestamp of the last packet, at lastAt
	restarts  uint64 // times the publisher started the stream over
}

// restartedLocked reports whether pkt belongs to a new run of the stream:
// a publisher that stopped and published again starts from a new random
// RTP timestamp, while a stream that only paused or changed its path (the
// publisher kept its clock) advances by about the time that passed. The
// statistics then start afresh: the pause between two runs is no gap.
func (h *hub) restartedLocked(pkt *rtp.Packet, now time.Time) bool {
	if h.packets == 0 {
		return false
	}
	clock := float64(90000)
	if h.key.kind == kindAudio {
		clock = 48000
	}
	got := float64(int32(pkt.Timestamp - h.pktTS))
	want := now.Sub(h.lastAt).Seconds() * clock
	return math.Abs(got-want) > 5*clock
}

func sortedHubs(m map[trackKey]*hub) []*hub {
	out := make([]*hub, 0, len(m))
	for _, h := range m {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b *hub) int {
		return cmp.Or(cmp.Compare(a.key.origin, b.key.origin), cmp.Compare(a.key.id, b.key.id))
	})
	return out
}

// live reports whether the stream has a path now, or had one within the
// last few seconds (a route change).
func (h *hub) live() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sources > 0 || time.Since(h.lastAt) < 5*time.Second
}

func (h *hub) localTrack() *webrtc.TrackLocalStaticRTP {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.local
}

func (h *hub) setSink(sk sink) {
	h.mu.Lock()
	h.sink = sk
	h.mu.Unlock()
}

func (h *hub) setMixIn(f func(*rtp.Packet)) {
	h.mu.Lock()
	h.mixIn = f
	h.mu.Unlock()
}

func (h *hub) setComposeIn(f func(*rtp.Packet)) {
	h.mu.Lock()
	h.compIn = f
	h.mu.Unlock()
}

// push takes one packet from src. A packet from a path other than the
// active one is dropped unless the active path has been silent for
// SourceSwitch, which makes that path the active one.
func (h *hub) push(src *source, pkt *rtp.Packet) {
	now := time.Now()
	h.mu.Lock()
	switched, restarted := false, false
	if h.active != src {
		if h.active != nil && now.Sub(h.lastAt) < h.s.params.SourceSwitch {
			h.dropped++
			h.mu.Unlock()
			return
		}
		switched = h.active != nil || h.packets > 0
		h.active = src
		h.rerouted = h.rerouted || switched
	}
	if h.restartedLocked(pkt, now) {
		h.packets, h.bytes, h.frames, h.dropped, h.pliSent = 0, 0, 0, 0, 0
		h.lastFrame, h.maxGap, h.gaps, h.rerouted = time.Time{}, 0, nil, false
		h.restarts++
		restarted = true
	}
	first := h.packets == 0
	h.lastAt = now
	h.pktTS = pkt.Timestamp
	h.packets++
	h.bytes += uint64(len(pkt.Payload))
	var gap *Gap
	gridFrame := false
	if h.key.kind == kindVideo && pkt.Marker && (h.frames == 0 || newer(pkt.Timestamp, h.lastTS, 90000)) {
		gridFrame = h.key.id == trackGrid
		h.lastTS = pkt.Timestamp
		if !h.lastFrame.IsZero() {
			d := now.Sub(h.lastFrame)
			h.maxGap = max(h.maxGap, d)
			if d >= h.s.params.GapReport || h.rerouted {
				g := Gap{At: now, MS: float64(d.Microseconds()) / 1000, Origin: h.key.origin.String(), Kind: h.key.kind,
					Via: src.from.String(), Reroute: h.rerouted}
				h.gaps = append(h.gaps, g)
				if len(h.gaps) > 32 {
					h.gaps = h.gaps[1:]
				}
				gap = &g
			}
		}
		h.frames++
		h.lastFrame = now
		h.rerouted = false
	}
	local, sk, mixIn, compIn := h.local, h.sink, h.mixIn, h.compIn
	h.mu.Unlock()

	// Forward with our own header extensions (the receiving connection
	// negotiates its own).
	pkt.Header.Extension = false
	pkt.Header.Extensions = nil
	if local != nil {
		_ = local.WriteRTP(pkt)
	}
	if mixIn != nil {
		mixIn(pkt)
	}
	if compIn != nil {
		compIn(pkt)
	}
	if gridFrame {
		h.s.gridFrame(h.room, h.key.origin, now)
	}
	if sk != nil {
		if restarted {
			sk.restart()
		}
		sk.writeRTP(pkt)
	}
	if (switched || first) && h.key.kind == kindVideo {
		// A new path or a new stream: whoever decodes downstream (a
		// recording, a page) needs a keyframe, and a live source makes
		// one only when asked.
		h.requestKeyframe()
	}
	if gap != nil {
		h.s.emit("media.gap", map[string]any{"room": h.room, "origin": gap.Origin, "kind": gap.Kind, "ms": gap.MS, "via": gap.Via, "reroute": gap.Reroute})
	}
}

func (h *hub) sourceGone(src *source) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sources--
	if h.active == src {
		h.active = nil
	}
}

// requestKeyframe sends a PLI upstream on the active path, at most once
// per PLIInterval.
func (h *hub) requestKeyframe() {
	h.mu.Lock()
	src := h.active
	if src == nil || time.Since(h.lastPLI) < h.s.params.PLIInterval {
		h.mu.Unlock()
		return
	}
	h.lastPLI = time.Now()
	h.pliSent++
	h.mu.Unlock()
	_ = src.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: src.ssrc}})
}

// keyframeRequested passes a receiver's PLI for a forwarded stream
// upstream, and for the node's own track to the page that sends it. A PLI
// for a file's track is only counted by the stats interceptor: files
// cannot make a keyframe on demand.
func (s *Service) keyframeRequested(room string, to peer.ID, key trackKey) {
	if key.origin == s.self && key.id == trackGrid {
		s.mu.Lock()
		var c *composeSession
		if rm := s.media[room]; rm != nil {
			c = rm.compose
		}
		s.mu.Unlock()
		if c != nil {
			c.keyframe(to)
		}
		return
	}
	s.requestUpstreamKeyframe(room, key)
}

// requestUpstreamKeyframe asks the source of a stream for a keyframe: its
// path's sender (a PLI) or this node's page.
func (s *Service) requestUpstreamKeyframe(room string, key trackKey) {
	s.mu.Lock()
	var (
		hb   *hub
		live *liveSession
	)
	if rm := s.media[room]; rm != nil {
		hb, live = rm.hubs[key], rm.live
	}
	s.mu.Unlock()
	if key.origin == s.self {
		if live != nil && key.kind == kindVideo {
			live.requestKeyframe(key.id) // a page's encoder makes one
		}
		return
	}
	if hb != nil {
		hb.requestKeyframe()
	}
}

// receiveTrack reads one remote track into its hub until the track ends.
func (s *Service) receiveTrack(e *inEdge, pc *webrtc.PeerConnection, tr *webrtc.TrackRemote) {
	origin, err := peer.Decode(tr.StreamID())
	key := trackKey{origin: origin, id: tr.ID()}
	switch tr.Kind() {
	case webrtc.RTPCodecTypeVideo:
		key.kind = kindVideo
	case webrtc.RTPCodecTypeAudio:
		key.kind = kindAudio
	}
	valid := err == nil && key.kind != "" &&
		((key.kind == kindVideo && (key.id == kindVideo || key.id == trackScreen || key.id == trackGrid)) ||
			(key.kind == kindAudio && (key.id == "audio" || key.id == trackMix))) &&
		origin != s.self && (origin == e.peer || s.rooms.IsMember(e.room, origin)) &&
		(key.id != trackMix && key.id != trackGrid || origin == e.peer)
	if !valid {
		s.log.Debug("media: ignoring track", "from", e.peer, "stream", tr.StreamID(), "id", tr.ID())
		drain(tr)
		return
	}
	codec := tr.Codec().RTPCodecCapability
	codec.RTCPFeedback = nil
	hb := s.hubFor(e.room, key, func() *hub {
		local, _ := webrtc.NewTrackLocalStaticRTP(codec, key.id, origin.String())
		return &hub{s: s, room: e.room, key: key, local: local}
	})
	if hb == nil {
		drain(tr)
		return
	}
	src := &source{from: e.peer, pc: pc, ssrc: uint32(tr.SSRC())}
	hb.mu.Lock()
	hb.sources++
	hb.mu.Unlock()
	defer hb.sourceGone(src)
	s.kick() // the mixer forwards a new stream at once
	lim := rate.NewLimiter(rate.Limit(s.params.MaxPacketRate), int(s.params.MaxPacketRate/4)+1)
	jit := e.jitterOf(src.ssrc)
	clock := float64(codec.ClockRate)
	var (
		first       time.Time
		lastTransit float64
		j           float64
	)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		// RFC 3550 interarrival jitter (pion's stats interceptor computes
		// it from relative arrival times, which is wrong).
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		transit := now.Sub(first).Seconds()*clock - float64(pkt.Timestamp)
		if jit.n.Add(1) > 1 {
			d := transit - lastTransit
			if d > 1<<31 || d < -(1<<31) {
				d = 0 // timestamp wrap or a new source
			}
			j += (max(d, -d) - j) / 16
			jit.ms.Store(math.Float64bits(j / clock * 1000))
		}
		lastTransit = transit
		if !lim.Allow() {
			hb.mu.Lock()
			hb.dropped++
			hb.mu.Unlock()
			continue
		}
		hb.push(src, pkt)
	}
}

// drain reads and discards a track nobody uses, until it ends (pion needs
// remote tracks read).
func drain(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
	}
}

// jitter is one received track's interarrival jitter.
type jitter struct {
	n  atomic.Uint64
	ms atomic.Uint64 // float64 bits
}

func (e *inEdge) jitterOf(ssrc uint32) *jitter {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jit == nil {
		e.jit = map[uint32]*jitter{}
	}
	j := e.jit[ssrc]
	if j == nil {
		j = &jitter{}
		e.jit[ssrc] = j
	}
	return j
}

func (e *inEdge) jitterMS(ssrc uint32) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j := e.jit[ssrc]; j != nil {
		return math.Float64frombits(j.ms.Load())
	}
	return 0
}
