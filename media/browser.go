package media

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The page's own tracks: what each of the daemon's receiving transceivers
// carries (BrowserTrack.Kind for Send tracks).
const (
	RoleCamera = "camera"
	RoleMic    = "mic"
	RoleScreen = "screen"
)

// trackScreen is the id of a publisher's screen-share track (a second
// video track in its stream).
const trackScreen = "screen"

// Browser signal message types (see BrowserSignal).
const (
	BrowserOffer   = "offer"   // daemon → page: the daemon always offers
	BrowserAnswer  = "answer"  // page → daemon
	BrowserCand    = "cand"    // page → daemon: a trickled ICE candidate
	BrowserSending = "sending" // page → daemon: which of its tracks it sends now
	BrowserClosed  = "closed"  // daemon → page: the session ended (Reason), e.g. taken over
)

// ErrTakenOver ends a page's media session when another page of the same
// daemon opens the room's media.
var ErrTakenOver = errors.New("the call continues in another tab or window of this daemon")

// BrowserTrack says what one transceiver (by mid) carries: a track the
// page sends (Send, Kind camera|mic|screen) or another member's track
// (Origin, Kind video|audio|screen|mix).
type BrowserTrack struct {
	Send   bool   `json:"send,omitempty"`
	Origin string `json:"origin,omitempty"`
	Kind   string `json:"kind"`
}

// BrowserSignal is one message between the page and its daemon on the
// page's media session.
type BrowserSignal struct {
	Type    string                   `json:"type"`
	SDP     string                   `json:"sdp,omitempty"`
	Cand    *webrtc.ICECandidateInit `json:"cand,omitempty"`
	Tracks  map[string]BrowserTrack  `json:"tracks,omitempty"`
	Sending map[string]bool          `json:"sending,omitempty"`
	Reason  string                   `json:"reason,omitempty"`
}

// BrowserSignaller carries a page's signals (node: a WebSocket). Send may
// be called from one goroutine at a time; Close makes a blocked Recv
// return.
type BrowserSignaller interface {
	Send(BrowserSignal) error
	Recv() (BrowserSignal, error)
	Close() error
}

// liveSession is a page's media session: one PeerConnection to the page
// that receives its camera, microphone and screen (republished into the
// room as this node's tracks, like a file publisher's) and sends it every
// other member's tracks. Its goroutine (serve) owns the connection's
// negotiation; update hands it the tracks to send.
type liveSession struct {
	s      *Service
	room   string
	ctx    context.Context
	cancel context.CancelCauseFunc
	kickCh chan struct{}
	local  map[string]*webrtc.TrackLocalStaticRTP // role -> track into the room
	start  time.Time

	frames  atomic.Uint64
	packets atomic.Uint64
	tap     atomic.Pointer[func([]byte)]
	vtap    atomic.Pointer[func(id string, pkt *rtp.Packet)]

	mu      sync.Mutex
	want    []sendTrack
	sending map[string]bool   // roles the page says it sends
	flowing map[string]bool   // roles whose packets have arrived
	ssrc    map[string]uint32 // role -> the page's SSRC (for keyframe requests)
	pc      *webrtc.PeerConnection
	lastPLI map[string]time.Time
}

func (s *Service) newLiveSession(room string) (*liveSession, error) {
	l := &liveSession{s: s, room: room, kickCh: make(chan struct{}, 1), start: time.Now(),
		local: map[string]*webrtc.TrackLocalStaticRTP{}, sending: map[string]bool{}, flowing: map[string]bool{},
		ssrc: map[string]uint32{}, lastPLI: map[string]time.Time{}}
	for role, spec := range map[string]struct {
		c  webrtc.RTPCodecCapability
		id string
	}{RoleCamera: {capVP8, kindVideo}, RoleMic: {capOpus, kindAudio}, RoleScreen: {capVP8, trackScreen}} {
		tr, err := webrtc.NewTrackLocalStaticRTP(spec.c, spec.id, s.self.String())
		if err != nil {
			return nil, err
		}
		l.local[role] = tr
	}
	l.ctx, l.cancel = context.WithCancelCause(s.ctx)
	return l, nil
}

func roleKey(role string) (kind, id string) {
	switch role {
	case RoleMic:
		return kindAudio, kindAudio
	case RoleScreen:
		return kindVideo, trackScreen
	}
	return kindVideo, kindVideo
}

// sendTracks returns the page's tracks to put on sending edges: those it
// says it sends and whose packets have begun to arrive.
func (l *liveSession) sendTracks() []sendTrack {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sendTrack
	for _, role := range []string{RoleCamera, RoleMic, RoleScreen} {
		if !l.sending[role] || !l.flowing[role] {
			continue
		}
		kind, id := roleKey(role)
		out = append(out, sendTrack{key: trackKey{origin: l.s.self, kind: kind, id: id}, track: l.local[role]})
	}
	return out
}

// setVideoTap hands the page's camera and screen packets to f too (the
// mixer composing its own video); nil stops it.
func (l *liveSession) setVideoTap(f func(id string, pkt *rtp.Packet)) {
	if l == nil {
		return
	}
	if f == nil {
		l.vtap.Store(nil)
		return
	}
	l.vtap.Store(&f)
}

func (l *liveSession) setAudioTap(f func([]byte)) {
	if l == nil {
		return
	}
	if f == nil {
		l.tap.Store(nil)
		return
	}
	l.tap.Store(&f)
}

func (l *liveSession) update(ts []sendTrack) {
	l.mu.Lock()
	l.want = ts
	l.mu.Unlock()
	select {
	case l.kickCh <- struct{}{}:
	default:
	}
}

// requestKeyframe asks the page's encoder for a keyframe of a track (a
// receiver somewhere lost its picture), at most once per PLIInterval.
func (l *liveSession) requestKeyframe(id string) {
	role := RoleCamera
	if id == trackScreen {
		role = RoleScreen
	}
	l.mu.Lock()
	pc, ssrc := l.pc, l.ssrc[role]
	if pc == nil || ssrc == 0 || time.Since(l.lastPLI[role]) < l.s.params.PLIInterval {
		l.mu.Unlock()
		return
	}
	l.lastPLI[role] = time.Now()
	l.mu.Unlock()
	_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// ServeBrowser runs a page's media session in a joined room until the page
// goes, ctx ends, or another page takes the room's media over (then the
// old page is told why). The page's camera, microphone and screen become
// this node's tracks in the room; every other member's tracks go to the
// page.
func (s *Service) ServeBrowser(ctx context.Context, hash string, sig BrowserSignaller) error {
	defer sig.Close()
	l, err := s.newLiveSession(hash)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	rm := s.roomLocked(hash)
	if rm == nil {
		s.mu.Unlock()
		_ = sig.Send(BrowserSignal{Type: BrowserClosed, Reason: ErrNotJoined.Error()})
		return ErrNotJoined
	}
	old := rm.live
	rm.live = l
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	if old != nil {
		old.cancel(ErrTakenOver)
	}
	stop := context.AfterFunc(ctx, func() { l.cancel(context.Canceled) })
	defer stop()
	s.emit("media.browser", map[string]any{"room": hash, "open": true})
	s.kick()
	err = l.serve(sig)
	l.cancel(err)
	s.mu.Lock()
	if rm := s.media[hash]; rm != nil && rm.live == l {
		rm.live = nil
	}
	s.mu.Unlock()
	s.emit("media.browser", map[string]any{"room": hash, "open": false})
	s.kick()
	return err
}

// newBrowserPC is a PeerConnection to a page of this host: host
// candidates on every interface (a browser offers no loopback candidates
// unless told to), loopback included, no ICE servers.
func (s *Service) newBrowserPC() (*webrtc.PeerConnection, *webrtc.API, error) {
	pc, _, api, err := s.newPCWith(ICEConfig{}, true)
	return pc, api, err
}

// txPool keeps the transceivers of the page's connection whose track was
// removed, to carry the next track of their kind: a call where members
// come and go keeps as many m-lines as it had tracks at once, not one
// per track it ever had. A transceiver becomes free once the page
// answered the offer that removed its track.
type txPool struct {
	api     *webrtc.API
	pending []*webrtc.RTPTransceiver
	free    []*webrtc.RTPTransceiver
}

func (p *txPool) answered() {
	p.free = append(p.free, p.pending...)
	p.pending = nil
}

// add sends track on a free transceiver of its kind, else on a new one.
func (p *txPool) add(pc *webrtc.PeerConnection, track webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	for i, t := range p.free {
		if t.Kind() != track.Kind() {
			continue
		}
		snd, err := p.api.NewRTPSender(track, pc.SCTP().Transport())
		if err != nil {
			return nil, err
		}
		if err := t.SetSender(snd, track); err != nil {
			_ = snd.Stop()
			return nil, err
		}
		p.free = append(p.free[:i], p.free[i+1:]...)
		return snd, nil
	}
	// A transceiver of its own (AddTrack would take over one of the
	// page's receiving ones).
	t, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	return t.Sender(), nil
}

// remove stops sending snd's track; its transceiver waits for the answer.
func (p *txPool) remove(pc *webrtc.PeerConnection, snd *webrtc.RTPSender) error {
	var tr *webrtc.RTPTransceiver
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == snd {
			tr = t
		}
	}
	if err := pc.RemoveTrack(snd); err != nil {
		return err
	}
	if tr != nil {
		p.pending = append(p.pending, tr)
	}
	return nil
}

func (l *liveSession) serve(sig BrowserSignaller) error {
	s := l.s
	pc, api, err := s.newBrowserPC()
	if err != nil {
		return err
	}
	pool := &txPool{api: api}
	var wg sync.WaitGroup
	defer func() {
		_ = pc.Close()
		wg.Wait()
	}()
	l.mu.Lock()
	l.pc = pc
	l.mu.Unlock()
	roles := map[*webrtc.RTPReceiver]string{}
	for _, r := range []struct {
		role string
		kind webrtc.RTPCodecType
	}{{RoleCamera, webrtc.RTPCodecTypeVideo}, {RoleMic, webrtc.RTPCodecTypeAudio}, {RoleScreen, webrtc.RTPCodecTypeVideo}} {
		tr, err := pc.AddTransceiverFromKind(r.kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return err
		}
		roles[tr.Receiver()] = r.role
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		role, ok := roles[rcv]
		if !ok || l.ctx.Err() != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.receive(role, tr)
		}()
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			l.cancel(errors.New("the connection to the page failed"))
		}
	})
	in := make(chan BrowserSignal)
	readErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := sig.Recv()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case in <- m:
			case <-l.ctx.Done():
				return
			}
		}
	}()
	defer sig.Close() // ends the reader before wg.Wait

	senders := map[trackKey]*webrtc.RTPSender{}
	var (
		negotiating, dirty = false, true
		negSince           time.Time
		remote             = trickle{max: s.params.MaxCandidates}
	)
	offer := func() error {
		o, err := pc.CreateOffer(nil)
		if err != nil {
			return fmt.Errorf("create offer: %w", err)
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(o); err != nil {
			return fmt.Errorf("set local description: %w", err)
		}
		select {
		case <-gathered:
		case <-time.After(s.params.SignalTimeout):
			return errors.New("gathering ICE candidates took too long")
		case <-l.ctx.Done():
			return context.Cause(l.ctx)
		}
		tracks := map[string]BrowserTrack{}
		for _, t := range pc.GetTransceivers() {
			mid := t.Mid()
			if mid == "" {
				continue
			}
			if role, ok := roles[t.Receiver()]; ok {
				tracks[mid] = BrowserTrack{Send: true, Kind: role}
				continue
			}
			if snd := t.Sender(); snd != nil && snd.Track() != nil {
				tl := snd.Track()
				tracks[mid] = BrowserTrack{Origin: tl.StreamID(), Kind: tl.ID()}
			}
		}
		negotiating, dirty, negSince = true, false, time.Now()
		return sig.Send(BrowserSignal{Type: BrowserOffer, SDP: pc.LocalDescription().SDP, Tracks: tracks})
	}
	check := time.NewTicker(time.Second)
	defer check.Stop()
	if err := offer(); err != nil {
		return err
	}
	for {
		select {
		case <-l.ctx.Done():
			cause := context.Cause(l.ctx)
			if errors.Is(cause, ErrTakenOver) || errors.Is(cause, ErrNotJoined) {
				// The page says why and does not come back by itself.
				_ = sig.Send(BrowserSignal{Type: BrowserClosed, Reason: cause.Error()})
			}
			return cause
		case err := <-readErr:
			return fmt.Errorf("page: %w", err)
		case <-check.C:
			if negotiating && time.Since(negSince) > s.params.SignalTimeout {
				return errors.New("the page did not answer the offer")
			}
		case <-l.kickCh:
			changed, err := l.applyTracks(pc, pool, senders, &wg)
			if err != nil {
				return err
			}
			dirty = dirty || changed
			if dirty && !negotiating {
				if err := offer(); err != nil {
					return err
				}
			}
		case m := <-in:
			switch m.Type {
			case BrowserAnswer:
				if !negotiating {
					return errors.New("an answer without an offer")
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
					return fmt.Errorf("the page's answer: %w", err)
				}
				negotiating = false
				pool.answered()
				if err := remote.flush(pc); err != nil {
					return err
				}
				if dirty {
					if err := offer(); err != nil {
						return err
					}
				}
			case BrowserCand:
				if m.Cand == nil || len(m.Cand.Candidate) > 1024 {
					return errors.New("a bad candidate from the page")
				}
				if m.Cand.Candidate == "" || mdnsCandidate(m.Cand.Candidate) {
					// The end of candidates; or a host hidden behind an
					// mDNS name (a page without camera permission), which
					// the daemon learns from the page's checks instead.
					continue
				}
				if err := remote.add(pc, *m.Cand); err != nil {
					if errors.Is(err, errTooManyCandidates) {
						return err
					}
					s.log.Debug("page candidate ignored", "room", l.room, "err", err)
				}
			case BrowserSending:
				l.mu.Lock()
				for _, role := range []string{RoleCamera, RoleMic, RoleScreen} {
					l.sending[role] = m.Sending[role]
				}
				l.mu.Unlock()
				s.kick()
			default:
				return fmt.Errorf("unexpected %q from the page", m.Type)
			}
		}
	}
}

// applyTracks adds and removes the senders of other members' tracks to
// match the wanted ones.
func (l *liveSession) applyTracks(pc *webrtc.PeerConnection, pool *txPool, senders map[trackKey]*webrtc.RTPSender, wg *sync.WaitGroup) (bool, error) {
	l.mu.Lock()
	want := l.want
	l.mu.Unlock()
	keep := map[trackKey]bool{}
	changed := false
	for _, t := range want {
		keep[t.key] = true
		if snd, ok := senders[t.key]; ok {
			if snd.Track() != t.track {
				if err := snd.ReplaceTrack(t.track); err != nil {
					return false, fmt.Errorf("replace track: %w", err)
				}
			}
			continue
		}
		snd, err := pool.add(pc, t.track)
		if err != nil {
			return false, fmt.Errorf("add track: %w", err)
		}
		senders[t.key] = snd
		changed = true
		key := t.key
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.s.readRTCP(snd, l.room, "", key)
		}()
	}
	for k, snd := range senders {
		if keep[k] {
			continue
		}
		if err := pool.remove(pc, snd); err != nil {
			return false, fmt.Errorf("remove track: %w", err)
		}
		delete(senders, k)
		changed = true
	}
	return changed, nil
}

// receive reads one of the page's tracks into the node's local track of
// its role, until the track ends.
func (l *liveSession) receive(role string, tr *webrtc.TrackRemote) {
	want := webrtc.RTPCodecTypeVideo
	if role == RoleMic {
		want = webrtc.RTPCodecTypeAudio
	}
	if tr.Kind() != want {
		drain(tr)
		return
	}
	l.mu.Lock()
	l.ssrc[role] = uint32(tr.SSRC())
	l.mu.Unlock()
	local := l.local[role]
	first := true
	var lastTS uint32
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if first {
			first = false
			l.mu.Lock()
			l.flowing[role] = true
			l.mu.Unlock()
			l.s.kick()
		}
		pkt.Header.Extension = false
		pkt.Header.Extensions = nil
		if role == RoleMic {
			l.packets.Add(1)
			if tap := l.tap.Load(); tap != nil {
				(*tap)(pkt.Payload)
			}
		} else {
			if role == RoleCamera && pkt.Marker && pkt.Timestamp != lastTS {
				lastTS = pkt.Timestamp
				l.frames.Add(1)
			}
			if tap := l.vtap.Load(); tap != nil {
				_, id := roleKey(role)
				(*tap)(id, pkt)
			}
		}
		_ = local.WriteRTP(pkt)
	}
}

// mdnsCandidate reports whether an ICE candidate line names its address
// with an mDNS host name (RFC 8445 candidate: "... <address> <port> typ").
func mdnsCandidate(c string) bool {
	f := strings.Fields(c)
	return len(f) > 4 && strings.HasSuffix(f[4], ".local")
}
