package overlay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/time/rate"
)

// ProbeProtocol measures upload throughput: the prober sends a fixed number
// of bytes, the member receiving them answers how long they took.
//
//	prober -> member: room hash (32 bytes) || size (uint32, big endian)
//	member -> prober: status (1 byte: 0 go, 1 not a member, 2 busy,
//	                  3 too large, 4 rate limited)
//	prober -> member: up to size bytes (after a go; a prober may stop
//	                  early, after ProbeTime, and close its side)
//	member -> prober: bytes counted (uint32) || microseconds from the
//	                  first to the last byte (uint64)
const ProbeProtocol protocol.ID = "/f2f/bwprobe/1"

// Probe refusals.
var (
	// ErrProbeRefused means the member refused the probe; the error says why.
	ErrProbeRefused = errors.New("probe refused")
)

const (
	probeOK byte = iota
	probeNotMember
	probeBusy
	probeTooLarge
	probeRateLimited
)

var probeRefusals = map[byte]string{
	probeNotMember:   "not a member of the room",
	probeBusy:        "busy with other probes",
	probeTooLarge:    "too many bytes",
	probeRateLimited: "too many probes; try again later",
}

// ProbeResult is one measurement of `f2f room probe`.
type ProbeResult struct {
	Peer  string  `json:"peer"`
	Nick  string  `json:"nick"`
	Bytes int     `json:"bytes"`
	Secs  float64 `json:"seconds"`
	// Bps is the throughput the member measured, bytes per second.
	Bps   float64 `json:"bytes_per_s"`
	RTTMS float64 `json:"rtt_ms"`
	Error string  `json:"error,omitempty"`
}

// parseProbeHeader reads a probe's header: the room hash (32 bytes) and
// the number of bytes that follow (big-endian uint32).
func parseProbeHeader(hdr [36]byte) (room string, size int) {
	return string(hdr[:32]), int(binary.BigEndian.Uint32(hdr[32:]))
}

// handleProbe serves ProbeProtocol: only to members of a joined room, at
// most ProbeConcurrency at once and ProbeRate per peer.
func (s *Service) handleProbe(st network.Stream) {
	defer st.Close()
	p := st.Conn().RemotePeer()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	var hdr [36]byte
	if _, err := io.ReadFull(st, hdr[:]); err != nil {
		_ = st.Reset()
		return
	}
	room, size := parseProbeHeader(hdr)
	refuse := func(code byte) {
		_, _ = st.Write([]byte{code})
		_ = st.CloseWrite()
	}
	r := s.roomByHash(room)
	switch {
	case r == nil || !r.isMember(p):
		refuse(probeNotMember)
		return
	case size > s.params.Caps.MaxProbeBytes || size <= 0:
		refuse(probeTooLarge)
		return
	case !s.probeLimits.allow(p):
		refuse(probeRateLimited)
		return
	}
	select {
	case s.probeSem <- struct{}{}:
		defer func() { <-s.probeSem }()
	default:
		refuse(probeBusy)
		return
	}
	if _, err := st.Write([]byte{probeOK}); err != nil {
		_ = st.Reset()
		return
	}
	buf := make([]byte, 32<<10)
	var first time.Time
	got := 0
	firstN := 0
	for got < size {
		n, err := st.Read(buf[:min(len(buf), size-got)])
		if n > 0 && first.IsZero() {
			first, firstN = time.Now(), n
		}
		got += n
		if err != nil {
			break
		}
	}
	// The bytes of the first read were on their way before the clock ran.
	d := time.Since(first)
	var ans [12]byte
	binary.BigEndian.PutUint32(ans[0:], uint32(got-firstN))
	binary.BigEndian.PutUint64(ans[4:], uint64(d.Microseconds()))
	_, _ = st.Write(ans[:])
	_ = st.CloseWrite()
}

// IsMember reports whether p is a member of the joined room with this hash
// (in a password room: one that proved the key).
func (s *Service) IsMember(hash string, p peer.ID) bool {
	r := s.roomByHash(hash)
	return r != nil && r.isMember(p)
}

// isMember reports whether p is a member of the room: subscribed to its
// chat topic now, or heard from and neither gone nor left; in a password
// room it must also have proven the key.
func (r *room) isMember(p peer.ID) bool {
	r.mu.Lock()
	m, known := r.members[p]
	present := known && !m.gone && !m.left
	proven := r.proven[p]
	r.mu.Unlock()
	if r.sec.Encrypted() && !proven {
		return false
	}
	return present || slices.Contains(r.chat.ListPeers(), p)
}

// probe sends size bytes to p and returns the throughput p measured.
func (r *room) probe(ctx context.Context, p peer.ID, size int) (ProbeResult, error) {
	s := r.s
	res := ProbeResult{Peer: p.String(), Nick: r.nickOf(p), RTTMS: float64(s.h.Peerstore().LatencyEWMA(p).Microseconds()) / 1000}
	ctx, cancel := context.WithTimeout(ctx, s.params.Room.StreamTimeout)
	defer cancel()
	st, err := s.h.NewStream(ctx, p, ProbeProtocol)
	if err != nil {
		return res, err
	}
	defer st.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	hdr := make([]byte, 36)
	copy(hdr, r.hash)
	binary.BigEndian.PutUint32(hdr[32:], uint32(size))
	if _, err := st.Write(hdr); err != nil {
		return res, err
	}
	var ans [12]byte
	if _, err := io.ReadFull(st, ans[:1]); err != nil {
		return res, fmt.Errorf("probe %s: %w", p, err)
	}
	if ans[0] != probeOK {
		why, ok := probeRefusals[ans[0]]
		if !ok {
			why = fmt.Sprintf("status %d", ans[0])
		}
		return res, fmt.Errorf("%w by %s: %s", ErrProbeRefused, res.Nick, why)
	}
	var lim *rate.Limiter
	chunk := make([]byte, 32<<10)
	if l := s.params.Caps.UploadLimit; l > 0 {
		// Bursts of at most 50 ms of the rate, so that the pacing (and
		// so the measurement) holds for small probes too.
		burst := max(1<<10, min(len(chunk), int(l/20)))
		lim = rate.NewLimiter(rate.Limit(l), burst)
		chunk = chunk[:burst]
	}
	for i := range chunk {
		chunk[i] = byte(rand.Uint32())
	}
	// On a slow uplink the probe ends after ProbeTime with what it sent:
	// the member measures whatever arrived.
	start := time.Now()
	for sent := 0; sent < size && time.Since(start) < s.params.Caps.ProbeTime; {
		n := min(len(chunk), size-sent)
		if lim != nil {
			if err := lim.WaitN(ctx, n); err != nil {
				return res, err
			}
		}
		if _, err := st.Write(chunk[:n]); err != nil {
			return res, fmt.Errorf("probe %s: %w", p, err)
		}
		sent += n
	}
	_ = st.CloseWrite()
	if _, err := io.ReadFull(st, ans[:]); err != nil {
		return res, fmt.Errorf("probe %s: %w", p, err)
	}
	got := int(binary.BigEndian.Uint32(ans[0:]))
	us := binary.BigEndian.Uint64(ans[4:])
	res.Bytes, res.Secs = got, float64(us)/1e6
	if us == 0 { // all in one read: no better than the sender's clock
		res.Secs = time.Since(start).Seconds()
	}
	if res.Secs > 0 {
		res.Bps = float64(got) / res.Secs
	}
	return res, nil
}

// codecBenchmark times the encoding of one 320×240 frame (JPEG, quality
// 75): the CPU figure of a capability report until media reports the real
// encode time. The best of three runs, in microseconds.
func codecBenchmark() uint64 {
	img := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(i*7 + i/320*3)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(i), byte(255-i)
	}
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		_ = jpeg.Encode(io.Discard, img, &jpeg.Options{Quality: 75})
		best = min(best, time.Since(start))
	}
	return uint64(max(best.Microseconds(), 1))
}

// report builds the node's capability report for r from its latest
// probes.
func (r *room) report(uploads []float64) CapReport {
	s := r.s
	c := CapReport{Cores: uint64(runtime.NumCPU()), EncodeMicros: s.codecMicros(),
		UptimeSec: uint64(time.Since(s.started).Seconds()), Reach: s.reach()}
	if len(uploads) > 0 {
		slices.Sort(uploads)
		c.UploadBps, c.Probed = uint64(uploads[len(uploads)/2]), uint64(len(uploads))
	}
	var rtts []time.Duration
	for _, p := range r.chat.ListPeers() {
		if d := s.h.Peerstore().LatencyEWMA(p); d > 0 {
			rtts = append(rtts, d)
		}
	}
	if len(rtts) > 0 {
		slices.Sort(rtts)
		c.RTTMicros = uint64(rtts[len(rtts)/2].Microseconds())
	}
	for _, p := range r.chat.ListPeers() {
		if relayedOnly(s.h.Network().ConnsToPeer(p)) {
			c.Relayed++
		}
	}
	if s.turn != nil {
		c.TURN = s.turn()
		if len(c.TURN) > MaxTURNAddrs {
			c.TURN = c.TURN[:MaxTURNAddrs]
		}
	}
	if a := s.activity; a.Media != nil {
		var bps float64
		for _, m := range a.Media(r.hash) {
			bps += m.Bps
		}
		c.MediaOutBps = min(uint64(bps), maxControlValue)
		if a.MediaEncode != nil {
			c.MediaEncodeMicros = min(uint64(a.MediaEncode(r.hash).Microseconds()), maxControlValue)
		}
	}
	if a := s.activity; a.ComposeCost != nil {
		c.ComposeMicros = min(uint64(max(a.ComposeCost().Microseconds(), 1)), maxControlValue)
	}
	return c
}

// capsLoop measures and reports the node's capabilities in r: at once
// (with no upload figure yet), after probing up to ProbePeers members
// (new members are probed as they arrive, up to that number), every
// ReportInterval, and when the figure changes by more than a quarter.
// The probes are run again every CapsInterval.
func (r *room) capsLoop() {
	s := r.s
	r.publishCaps(r.report(nil))
	last, lastAt, measured := r.report(nil), time.Now(), time.Now()
	probed := map[peer.ID]float64{}
	failed := map[peer.ID]time.Time{} // probes refused or failed: not again for a while
	// Members who join together do not all probe at once.
	if !sleepCtx(r.ctx, rand.N(2*time.Second)) {
		return
	}
	for {
		// Probe members not measured yet, up to ProbePeers in all and
		// ProbePeers attempts per round.
		var fresh []peer.ID
		for _, p := range r.chat.ListPeers() {
			_, done := probed[p]
			if !done && time.Since(failed[p]) >= probeRetry && r.s.connected(p) {
				fresh = append(fresh, p)
			}
		}
		rand.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
		for i, p := range fresh {
			if len(probed) >= s.params.Caps.ProbePeers || i >= s.params.Caps.ProbePeers {
				break
			}
			res, err := r.probe(r.ctx, p, s.params.Caps.ProbeBytes)
			if r.ctx.Err() != nil {
				return
			}
			if err != nil {
				s.log.Debug("probe", "room", r.hash, "peer", p, "err", err)
				failed[p] = time.Now()
				continue
			}
			probed[p] = res.Bps
		}
		ups := make([]float64, 0, len(probed))
		for _, v := range probed {
			ups = append(ups, v)
		}
		// Report again when the figure changed much, or every
		// ReportInterval (stretched in a room of more than 10, see
		// sizeScaled), so members that joined (or missed one) have it.
		c := r.report(ups)
		if time.Since(lastAt) >= sizeScaled(s.params.Caps.ReportInterval, r.liveMembers())*3/4 || changedMuch(last.UploadBps, c.UploadBps) || last.Probed != c.Probed ||
			last.Reach != c.Reach || last.Relayed != c.Relayed || !slices.Equal(last.TURN, c.TURN) {
			r.publishCaps(c)
			last, lastAt = c, time.Now()
		}
		wait := s.params.Caps.ReportInterval
		if len(probed) < s.params.Caps.ProbePeers {
			wait = min(wait, 2*time.Second) // members may still arrive
		}
		if !sleepCtx(r.ctx, jitter(wait)) {
			return
		}
		if time.Since(measured) >= s.params.Caps.CapsInterval {
			clear(probed) // measure again
			clear(failed)
			measured = time.Now()
		}
	}
}

// relayedOnly reports whether conns (to one peer) are all relayed
// (/p2p-circuit): no direct connection, hole punched or otherwise.
func relayedOnly(conns []network.Conn) bool {
	for _, c := range conns {
		if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT); err != nil {
			return false
		}
	}
	return len(conns) > 0
}

// probeRetry is how long a member whose probe failed is left alone.
const probeRetry = 30 * time.Second

func changedMuch(a, b uint64) bool {
	lo, hi := min(a, b), max(a, b)
	return hi > lo+lo/4
}

func (r *room) publishCaps(c CapReport) {
	r.el.onReport(r.s.h.ID(), c)
	r.publishControl(r.control, KindCaps, c.Marshal())
}

// Probe measures the upload throughput from the node to member (a peer ID
// or nickname; empty: every connected member, at most 16) in the room ref.
func (s *Service) Probe(ctx context.Context, ref, member string) ([]ProbeResult, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return nil, err
	}
	var targets []peer.ID
	if member == "" {
		targets = r.chat.ListPeers()
		if len(targets) > 16 {
			targets = targets[:16]
		}
		if len(targets) == 0 {
			return nil, fmt.Errorf("no member of %q is connected", r.key.Name)
		}
	} else {
		p, err := r.findMember(member)
		if err != nil {
			return nil, err
		}
		if p == s.h.ID() {
			return nil, errors.New("cannot probe the node itself")
		}
		targets = []peer.ID{p}
	}
	var out []ProbeResult
	for _, t := range targets {
		res, err := r.probe(ctx, t, s.params.Caps.ProbeBytes)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			res.Error = err.Error()
		}
		out = append(out, res)
	}
	return out, nil
}
