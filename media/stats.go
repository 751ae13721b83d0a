package media

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// rateSampler turns byte counters into bitrates, sampled about once a
// second by the service loop.
type rateSampler struct {
	mu   sync.Mutex
	last map[uint32]rateSample
	kbps map[uint32]float64
	rtt  float64 // the edge's ICE RTT in ms, sampled with the rates
}

type rateSample struct {
	bytes uint64
	at    time.Time
}

func (r *rateSampler) sample(ssrc uint32, bytes uint64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last, r.kbps = map[uint32]rateSample{}, map[uint32]float64{}
	}
	if l, ok := r.last[ssrc]; ok && now.After(l.at) && bytes >= l.bytes {
		r.kbps[ssrc] = float64(bytes-l.bytes) * 8 / 1000 / now.Sub(l.at).Seconds()
	}
	r.last[ssrc] = rateSample{bytes: bytes, at: now}
}

func (r *rateSampler) rate(ssrc uint32) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kbps[ssrc]
}

// EdgeTrack is one track on a media edge.
type EdgeTrack struct {
	Origin  string  `json:"origin"`
	Kind    string  `json:"kind"`
	ID      string  `json:"id"`
	SSRC    uint32  `json:"ssrc"`
	Packets uint64  `json:"packets"`
	Bytes   uint64  `json:"bytes"`
	Kbps    float64 `json:"kbps"`
	Lost    int64   `json:"lost"`
	// Jitter is the interarrival jitter in ms (as the receiver reports it).
	JitterMS float64 `json:"jitter_ms"`
	// RTTMS is the round-trip time from RTCP reports (a sender's report
	// answered in a receiver report), else the edge's ICE RTT.
	RTTMS float64 `json:"rtt_ms"`
	NACK  uint32  `json:"nack"`
	PLI   uint32  `json:"pli"`
	// Frames are the video frames received on this edge (receiving edges).
	Frames uint64 `json:"frames,omitempty"`
}

// EdgeStats is one PeerConnection.
type EdgeStats struct {
	Peer      string `json:"peer"`
	Direction string `json:"direction"` // "send" or "recv"
	State     string `json:"state"`
	// RTTMS is the latest round-trip time of the edge's selected ICE
	// candidate pair (STUN checks), in ms.
	RTTMS  float64     `json:"rtt_ms"`
	Tracks []EdgeTrack `json:"tracks"`
	// Path is the kind of ICE path the edge's selected candidate pair
	// takes: "host" (direct, addresses as they are), "srflx" (direct
	// through a NAT: hole-punched) or "relay" (through a TURN server).
	Path string `json:"path,omitempty"`
}

// StreamStats is one received stream (a publisher's track), whatever path
// carried it.
type StreamStats struct {
	Origin  string  `json:"origin"`
	Kind    string  `json:"kind"`
	ID      string  `json:"id"`
	Via     string  `json:"via,omitempty"`
	Packets uint64  `json:"packets"`
	Bytes   uint64  `json:"bytes"`
	Frames  uint64  `json:"frames,omitempty"`
	Dropped uint64  `json:"dropped"`
	MaxGap  float64 `json:"max_gap_ms"`
	Gaps    []Gap   `json:"gaps,omitempty"`
	// LastMS is how long ago the last packet arrived.
	LastMS    float64 `json:"last_ms"`
	Forwarded int     `json:"forwarded_to"`
	PLISent   uint64  `json:"pli_sent"`
	// Restarts counts the times the publisher started the stream over
	// (stopped and published again); the figures above are of the
	// current run only.
	Restarts uint64 `json:"restarts,omitempty"`
}

// PublishStats describes what the node publishes.
type PublishStats struct {
	Video        string  `json:"video,omitempty"`
	Audio        string  `json:"audio,omitempty"`
	Loop         bool    `json:"loop"`
	VideoFrames  uint64  `json:"video_frames"`
	AudioPackets uint64  `json:"audio_packets"`
	Seconds      float64 `json:"seconds"`
	Done         bool    `json:"done"`
	// Browser is true when the tracks come from this node's page (camera,
	// microphone; Screen while it shares its screen), not from files.
	Browser bool `json:"browser,omitempty"`
	Screen  bool `json:"screen,omitempty"`
}

// MixStats describes audio mixing on this node (when it is the mixer).
type MixStats struct {
	Receivers int    `json:"receivers"`
	Inputs    int    `json:"inputs"`
	Frames    uint64 `json:"frames"`
	// EncodeUS and DecodeUS are the mean microseconds per encoded (or
	// decoded) 20 ms frame per stream.
	EncodeUS float64 `json:"encode_us"`
	DecodeUS float64 `json:"decode_us"`
}

// RoomStats is a room's media on this node.
type RoomStats struct {
	Room       string         `json:"room"`
	Mode       string         `json:"mode"`
	Mixer      string         `json:"mixer,omitempty"`
	Members    int            `json:"members"`
	Publishing *PublishStats  `json:"publishing,omitempty"`
	Recording  string         `json:"recording,omitempty"`
	Files      []RecordedFile `json:"files,omitempty"`
	Edges      []EdgeStats    `json:"edges"`
	Streams    []StreamStats  `json:"streams"`
	Mix        *MixStats      `json:"mix,omitempty"`
	// MixWanted: this node asked for mixed audio; MixedBy: who mixes for
	// it; MixRefused: why the mixer does not.
	MixWanted    bool   `json:"mix_wanted"`
	MixedBy      string `json:"mixed_by,omitempty"`
	MixRefused   string `json:"mix_refused,omitempty"`
	MixAvailable string `json:"mix_unavailable,omitempty"`
	// Compose: the composed video this node makes (as the mixer).
	Compose *ComposeStats `json:"compose,omitempty"`
	// VideoWanted: this node asked for composed video; ComposedBy: who
	// composes for it; VideoRefused: why the mixer does not; GridGaps:
	// the pauses in the composed video when the mixer changed.
	VideoWanted  bool   `json:"video_wanted,omitempty"`
	ComposedBy   string `json:"composed_by,omitempty"`
	VideoRefused string `json:"video_refused,omitempty"`
	GridGaps     []Gap  `json:"grid_gaps,omitempty"`
}

// sampleRates updates every edge's bitrates.
func (s *Service) sampleRates() {
	now := time.Now()
	for _, e := range s.allEdges() {
		for _, t := range e.tracks() {
			e.rates().sample(t.ssrc, t.bytes(e.getter()), now)
		}
		// pion's GetStats walks every transport: once per sample, not on
		// every stats call.
		rtt := iceRTT(e.peerConn())
		r := e.rates()
		r.mu.Lock()
		r.rtt = rtt
		r.mu.Unlock()
	}
}

// edgeView is what stats need of either kind of edge.
type edgeView interface {
	tracks() []edgeTrackRef
	rates() *rateSampler
	getter() stats.Getter
	peerConn() *webrtc.PeerConnection
	icePath() string
}

type edgeTrackRef struct {
	key  trackKey
	ssrc uint32
	send bool
}

func (r edgeTrackRef) bytes(g stats.Getter) uint64 {
	if g == nil {
		return 0
	}
	st := g.Get(r.ssrc)
	if st == nil {
		return 0
	}
	if r.send {
		return st.OutboundRTPStreamStats.BytesSent
	}
	return st.InboundRTPStreamStats.BytesReceived
}

func (e *outEdge) tracks() []edgeTrackRef {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]edgeTrackRef, 0, len(e.ssrcs))
	for k, ssrc := range e.ssrcs {
		out = append(out, edgeTrackRef{key: k, ssrc: ssrc, send: true})
	}
	return out
}
func (e *outEdge) rates() *rateSampler { return &e.rs }
func (e *outEdge) icePath() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.path.String()
}

func (e *inEdge) icePath() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.path.String()
}

func (e *outEdge) peerConn() *webrtc.PeerConnection {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pc
}
func (e *outEdge) getter() stats.Getter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

func (e *inEdge) tracks() []edgeTrackRef {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]edgeTrackRef, 0, len(e.remote))
	for _, tr := range e.remote {
		k := trackKey{id: tr.ID()}
		k.origin, _ = peer.Decode(tr.StreamID())
		k.kind = tr.Kind().String()
		out = append(out, edgeTrackRef{key: k, ssrc: uint32(tr.SSRC())})
	}
	return out
}
func (e *inEdge) rates() *rateSampler { return &e.rs }
func (e *inEdge) peerConn() *webrtc.PeerConnection {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pc
}

// iceRTT is the current round-trip time in ms of pc's nominated candidate
// pair, or 0.
func iceRTT(pc *webrtc.PeerConnection) float64 {
	if pc == nil {
		return 0
	}
	for _, st := range pc.GetStats() {
		if cp, ok := st.(webrtc.ICECandidatePairStats); ok && cp.Nominated && cp.State == webrtc.StatsICECandidatePairStateSucceeded {
			return cp.CurrentRoundTripTime * 1000
		}
	}
	return 0
}
func (e *inEdge) getter() stats.Getter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

func (s *Service) allEdges() []edgeView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []edgeView
	for _, rm := range s.media {
		for _, e := range rm.out {
			out = append(out, e)
		}
		for _, e := range rm.in {
			out = append(out, e)
		}
	}
	return out
}

func edgeTracks(e edgeView, rtt float64) []EdgeTrack {
	g := e.getter()
	var out []EdgeTrack
	for _, t := range e.tracks() {
		et := EdgeTrack{Origin: t.key.origin.String(), Kind: t.key.kind, ID: t.key.id, SSRC: t.ssrc, Kbps: e.rates().rate(t.ssrc)}
		if g != nil {
			if st := g.Get(t.ssrc); st != nil {
				if t.send {
					et.Packets, et.Bytes = st.OutboundRTPStreamStats.PacketsSent, st.OutboundRTPStreamStats.BytesSent
					et.NACK, et.PLI = st.OutboundRTPStreamStats.NACKCount, st.OutboundRTPStreamStats.PLICount
					et.Lost = st.RemoteInboundRTPStreamStats.PacketsLost
					et.JitterMS = st.RemoteInboundRTPStreamStats.Jitter * 1000
					et.RTTMS = float64(st.RemoteInboundRTPStreamStats.RoundTripTime.Microseconds()) / 1000
				} else {
					in := st.InboundRTPStreamStats
					et.Packets, et.Bytes, et.Lost = in.PacketsReceived, in.BytesReceived, in.PacketsLost
					if ie, ok := e.(*inEdge); ok {
						et.JitterMS = ie.jitterMS(t.ssrc)
					}
					et.NACK, et.PLI = in.NACKCount, in.PLICount
					et.RTTMS = float64(st.RemoteOutboundRTPStreamStats.RoundTripTime.Microseconds()) / 1000
				}
			}
		}
		if et.RTTMS == 0 {
			et.RTTMS = rtt
		}
		out = append(out, et)
	}
	slices.SortFunc(out, func(a, b EdgeTrack) int { return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Stats returns a room's media statistics (zero values when the node has
// no media state in the room).
func (s *Service) Stats(hash string) RoomStats {
	rs := RoomStats{Room: hash, Edges: []EdgeStats{}, Streams: []StreamStats{}}
	if err := s.mixer.Available(); err != nil {
		rs.MixAvailable = err.Error()
	}
	topo, _ := s.rooms.MediaTopology(hash)
	rs.Mode, rs.Members = "mesh", len(topo.Members)
	if topo.Star {
		rs.Mode = "star"
	}
	if topo.Mixer != "" {
		rs.Mixer = topo.Mixer.String()
	}
	s.mu.Lock()
	rm := s.media[hash]
	if rm == nil {
		s.mu.Unlock()
		return rs
	}
	pub, live, rec, mix, comp := rm.pub, rm.live, rm.rec, rm.mix, rm.compose
	rs.MixWanted, rs.MixRefused = rm.wantMix, rm.mixErr
	if rm.mixedBy != "" {
		rs.MixedBy = rm.mixedBy.String()
	}
	rs.VideoWanted, rs.VideoRefused, rs.GridGaps = rm.wantVideo, rm.videoErr, slices.Clone(rm.gridGaps)
	if rm.composedBy != "" {
		rs.ComposedBy = rm.composedBy.String()
	}
	type ev struct {
		v    edgeView
		p    peer.ID
		dir  string
		stFn func() webrtc.PeerConnectionState
	}
	var evs []ev
	for p, e := range rm.out {
		evs = append(evs, ev{e, p, "send", e.pcState})
	}
	for p, e := range rm.in {
		evs = append(evs, ev{e, p, "recv", e.pcState})
	}
	hubs := sortedHubs(rm.hubs)
	forwarded := map[trackKey]int{}
	for _, e := range rm.out {
		e.mu.Lock()
		for k := range e.senders {
			forwarded[k]++
		}
		e.mu.Unlock()
	}
	s.mu.Unlock()

	if pub != nil {
		rs.Publishing = &PublishStats{Video: pub.spec.Video, Audio: pub.spec.Audio, Loop: pub.spec.Loop,
			VideoFrames: pub.videoFrames.Load(), AudioPackets: pub.audioPackets.Load(),
			Seconds: time.Since(pub.started).Seconds(), Done: pub.done.Load()}
	}
	if live != nil && len(live.sendTracks()) > 0 {
		live.mu.Lock()
		screen := live.sending[RoleScreen] && live.flowing[RoleScreen]
		live.mu.Unlock()
		rs.Publishing = &PublishStats{Browser: true, Screen: screen, VideoFrames: live.frames.Load(),
			AudioPackets: live.packets.Load(), Seconds: time.Since(live.start).Seconds()}
	}
	if rec != nil {
		rs.Recording, rs.Files = rec.dir, rec.files()
	}
	for _, x := range evs {
		r := x.v.rates()
		r.mu.Lock()
		rtt := r.rtt
		r.mu.Unlock()
		rs.Edges = append(rs.Edges, EdgeStats{Peer: x.p.String(), Direction: x.dir, State: x.stFn().String(), RTTMS: rtt,
			Tracks: edgeTracks(x.v, rtt), Path: x.v.icePath()})
	}
	slices.SortFunc(rs.Edges, func(a, b EdgeStats) int {
		return cmp.Or(cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Peer, b.Peer))
	})
	now := time.Now()
	for _, hb := range hubs {
		hb.mu.Lock()
		ss := StreamStats{Origin: hb.key.origin.String(), Kind: hb.key.kind, ID: hb.key.id, Packets: hb.packets,
			Bytes: hb.bytes, Frames: hb.frames, Dropped: hb.dropped, MaxGap: float64(hb.maxGap.Microseconds()) / 1000,
			Gaps: slices.Clone(hb.gaps), Forwarded: forwarded[hb.key], PLISent: hb.pliSent, Restarts: hb.restarts}
		if hb.active != nil {
			ss.Via = hb.active.from.String()
		}
		if !hb.lastAt.IsZero() {
			ss.LastMS = float64(now.Sub(hb.lastAt).Microseconds()) / 1000
		}
		hb.mu.Unlock()
		rs.Streams = append(rs.Streams, ss)
	}
	if mix != nil {
		frames, enc, dec := mix.stats()
		ms := &MixStats{Receivers: mix.outputCount(), Inputs: mix.inputCount(), Frames: frames}
		if frames > 0 && ms.Receivers > 0 {
			ms.EncodeUS = float64(enc) / 1000 / float64(frames) / float64(ms.Receivers)
		}
		if frames > 0 && ms.Inputs > 0 {
			ms.DecodeUS = float64(dec) / 1000 / float64(frames) / float64(ms.Inputs)
		}
		rs.Mix = ms
	}
	rs.Compose = s.composeStats(comp)
	return rs
}

func (e *outEdge) pcState() webrtc.PeerConnectionState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

func (e *inEdge) pcState() webrtc.PeerConnectionState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// MediaEdge is one media connection for the network graph.
type MediaEdge struct {
	From   peer.ID
	To     peer.ID
	Kbps   float64
	Tracks int
}

// Edges returns the room's sending edges with their bitrates (each node
// reports what it sends; together they are the room's media graph).
func (s *Service) Edges(hash string) []MediaEdge {
	s.mu.Lock()
	rm := s.media[hash]
	var outs []*outEdge
	if rm != nil {
		for _, e := range rm.out {
			outs = append(outs, e)
		}
	}
	s.mu.Unlock()
	var res []MediaEdge
	for _, e := range outs {
		me := MediaEdge{From: s.self, To: e.peer}
		for _, t := range e.tracks() {
			me.Kbps += e.rates().rate(t.ssrc)
			me.Tracks++
		}
		if me.Tracks > 0 {
			res = append(res, me)
		}
	}
	slices.SortFunc(res, func(a, b MediaEdge) int { return cmp.Compare(a.To, b.To) })
	return res
}

// EncodeTime is the mean time this node spends encoding one 20 ms mixed
// audio frame for one member in the room (0 when it mixes nothing).
func (s *Service) EncodeTime(hash string) time.Duration {
	s.mu.Lock()
	var mix *mixSession
	if rm := s.media[hash]; rm != nil {
		mix = rm.mix
	}
	s.mu.Unlock()
	if mix == nil {
		return 0
	}
	frames, enc, _ := mix.stats()
	outs := mix.outputCount()
	if frames == 0 || outs == 0 {
		return 0
	}
	return time.Duration(enc / frames / uint64(outs))
}

// pathWatch keeps the kind of path of a PeerConnection's selected ICE
// candidate pair, as pion reports its changes (reading the pair from the
// transport directly races with ICE starting).
type pathWatch struct{ v atomic.Value }

// watchPath watches pc's selected candidate pair; call it before the
// remote description is set.
func watchPath(pc *webrtc.PeerConnection) *pathWatch {
	w := &pathWatch{}
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		w.v.Store(pairKind(p))
	})
	return w
}

// String is the path's kind, "" before a pair is selected (or for nil).
func (w *pathWatch) String() string {
	if w == nil {
		return ""
	}
	s, _ := w.v.Load().(string)
	return s
}

// pairKind names the kind of path of a candidate pair: "relay" when either
// end is a TURN relay, "srflx" when either is an address seen through a
// NAT (server or peer reflexive), else "host".
func pairKind(pair *webrtc.ICECandidatePair) string {
	if pair == nil || pair.Local == nil || pair.Remote == nil {
		return ""
	}
	l, r := pair.Local.Typ, pair.Remote.Typ
	switch {
	case l == webrtc.ICECandidateTypeRelay || r == webrtc.ICECandidateTypeRelay:
		return "relay"
	case l == webrtc.ICECandidateTypeSrflx || r == webrtc.ICECandidateTypeSrflx,
		l == webrtc.ICECandidateTypePrflx || r == webrtc.ICECandidateTypePrflx:
		return "srflx"
	}
	return "host"
}
