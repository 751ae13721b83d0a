package media

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// sendTrack is a local track to send on an edge, by its key.
type sendTrack struct {
	key   trackKey
	track webrtc.TrackLocal
}

// outEdge is one PeerConnection on which this node sends media to one
// member of a room. Its goroutine (run) owns the connection and is the only
// one to add or remove tracks and to offer; update hands it the wanted
// tracks.
type outEdge struct {
	s      *Service
	room   string
	peer   peer.ID
	ctx    context.Context
	cancel context.CancelFunc
	kickCh chan struct{}

	mu   sync.Mutex
	want []sendTrack
	mix  bool // the receiver asked for mixed audio
	// video: the receiver asked for composed video and this node (its
	// mixer) composes for it; videoErr: why it does not.
	video    bool
	videoErr string
	// videoAsked: the receiver asked for composed video; prefsSeen: it
	// said what it wants; answered: this node answered as the mixer;
	// answering: an answer is under way.
	videoAsked, prefsSeen, answered, answering bool
	conn                                       *sigConn
	pc                                         *webrtc.PeerConnection
	stats                                      stats.Getter
	path                                       *pathWatch
	senders                                    map[trackKey]*webrtc.RTPSender
	ssrcs                                      map[trackKey]uint32 // the senders' SSRCs, read once when added
	bound                                      map[trackKey]bool   // the senders the receiver's last answer took
	rs                                         rateSampler
	state                                      webrtc.PeerConnectionState
}

// ready reports whether the edge is connected and the receiver's answer
// took the sender of key: what is written to its track now arrives.
func (e *outEdge) ready(key trackKey) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state == webrtc.PeerConnectionStateConnected && e.bound[key]
}

func (s *Service) newOutEdge(room string, p peer.ID) *outEdge {
	ctx, cancel := context.WithCancel(s.ctx)
	return &outEdge{s: s, room: room, peer: p, ctx: ctx, cancel: cancel, kickCh: make(chan struct{}, 1),
		senders: map[trackKey]*webrtc.RTPSender{}}
}

func (e *outEdge) update(ts []sendTrack) {
	e.mu.Lock()
	e.want = ts
	e.mu.Unlock()
	select {
	case e.kickCh <- struct{}{}:
	default:
	}
}

func (e *outEdge) wantsMix() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mix
}

// needsAnswer reports whether the receiver's wishes still wait for this
// node's answer as the mixer, and marks the answer under way.
func (e *outEdge) needsAnswer() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.prefsSeen || e.answered || e.answering {
		return false
	}
	e.answering = true
	return true
}

// answerPrefs tells the receiver of e whether this node mixes its audio
// and composes its video. Only the mixer of a star answers; a member that
// becomes the mixer later answers then (reconcile).
func (s *Service) answerPrefs(e *outEdge) {
	defer func() {
		e.mu.Lock()
		e.answering = false
		e.mu.Unlock()
	}()
	t, ok := s.rooms.MediaTopology(e.room)
	if !ok || !t.Star || t.Mixer != s.self {
		return
	}
	e.mu.Lock()
	mix, asked, conn := e.mix, e.videoAsked, e.conn
	e.mu.Unlock()
	mixing, reason := mix, ""
	if err := s.mixer.Available(); err != nil {
		mixing, reason = false, err.Error()
	}
	composing, why := false, ""
	if asked {
		composing, why = s.admitCompose(e.room, e.peer)
	}
	e.mu.Lock()
	e.video, e.videoErr, e.answered = composing, why, true
	e.mu.Unlock()
	if conn != nil {
		_ = conn.write(signalMsg{Type: sigMixed, Mix: &mixing, Reason: reason, Video: &composing, VReason: why})
	}
	s.kick()
}

func (e *outEdge) wantsVideo() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.video
}

func (e *outEdge) run() {
	s := e.s
	defer s.wg.Done()
	err := e.serve()
	e.cancel()
	s.edgeDone(e, err)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Debug("media send edge", "room", e.room, "peer", e.peer, "err", err)
	}
}

func (e *outEdge) serve() error {
	s := e.s
	octx, ocancel := context.WithTimeout(e.ctx, s.params.SignalTimeout)
	st, err := s.h.NewStream(network.WithAllowLimitedConn(octx, "media"), e.peer, protocol.ID(ID))
	ocancel()
	if err != nil {
		return fmt.Errorf("open signaling stream: %w", err)
	}
	defer func() { _ = st.Reset() }()
	conn := newSigConn(st, s.params)
	e.mu.Lock()
	e.conn = conn
	e.mu.Unlock()
	if err := conn.write(signalMsg{Type: sigHello, Room: e.room}); err != nil {
		return err
	}
	pc, getter, err := s.newPC(e.room)
	if err != nil {
		return err
	}
	var rtcpWG sync.WaitGroup
	defer func() {
		_ = pc.Close()
		rtcpWG.Wait()
	}()
	path := watchPath(pc)
	e.mu.Lock()
	e.pc, e.stats, e.path = pc, getter, path
	e.mu.Unlock()
	conn.sendCandidates(pc)
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		e.mu.Lock()
		e.state = state
		e.mu.Unlock()
		if state == webrtc.PeerConnectionStateFailed || state == webrtc.PeerConnectionStateClosed {
			e.cancel()
		}
	})
	msgs, readErr := conn.pump(e.ctx, &s.wg)

	var (
		negotiating, dirty bool
		negSince           time.Time
		remote             = trickle{max: s.params.MaxCandidates}
		offered            map[trackKey]bool
	)
	offer := func() error {
		e.mu.Lock()
		offered = make(map[trackKey]bool, len(e.senders))
		for k := range e.senders {
			offered[k] = true
		}
		e.mu.Unlock()
		o, err := pc.CreateOffer(nil)
		if err != nil {
			return fmt.Errorf("create offer: %w", err)
		}
		if err := pc.SetLocalDescription(o); err != nil {
			return fmt.Errorf("set local description: %w", err)
		}
		negotiating, dirty, negSince = true, false, time.Now()
		return conn.write(signalMsg{Type: sigOffer, SDP: o.SDP})
	}
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return e.ctx.Err()
		case err := <-readErr:
			return fmt.Errorf("signaling: %w", err)
		case <-check.C:
			if negotiating && time.Since(negSince) > s.params.SignalTimeout {
				return errors.New("no answer to the offer")
			}
		case <-e.kickCh:
			changed, err := e.applyTracks(pc, &rtcpWG)
			if err != nil {
				return err
			}
			if changed {
				dirty = true
			}
			if dirty && !negotiating {
				if err := offer(); err != nil {
					return err
				}
			}
		case m := <-msgs:
			switch m.Type {
			case sigAnswer:
				if !negotiating {
					return errors.New("unexpected answer")
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
					return fmt.Errorf("set answer: %w", err)
				}
				negotiating = false
				e.mu.Lock()
				e.bound = offered
				e.mu.Unlock()
				if err := remote.flush(pc); err != nil {
					return err
				}
				if dirty {
					if err := offer(); err != nil {
						return err
					}
				}
			case sigCand:
				if err := remote.add(pc, *m.Cand); err != nil {
					return err
				}
			case sigPrefs:
				e.mu.Lock()
				e.mix = *m.Mix
				e.videoAsked = m.Video != nil && *m.Video && *m.Mix
				e.prefsSeen, e.answered = true, false
				e.mu.Unlock()
				s.answerPrefs(e)
				s.kick()
			case sigError:
				return fmt.Errorf("receiver refused: %s", m.Reason)
			default:
				return fmt.Errorf("unexpected %s from the receiver", m.Type)
			}
		}
	}
}

// applyTracks adds and removes senders to match the wanted tracks.
func (e *outEdge) applyTracks(pc *webrtc.PeerConnection, wg *sync.WaitGroup) (bool, error) {
	e.mu.Lock()
	want := e.want
	e.mu.Unlock()
	keep := map[trackKey]bool{}
	changed := false
	for _, t := range want {
		keep[t.key] = true
		if snd, ok := e.senders[t.key]; ok {
			if snd.Track() != t.track { // a new page of this node took over
				if err := snd.ReplaceTrack(t.track); err != nil {
					return false, fmt.Errorf("replace track: %w", err)
				}
			}
			continue
		}
		snd, err := pc.AddTrack(t.track)
		if err != nil {
			return false, fmt.Errorf("add track: %w", err)
		}
		var ssrc uint32
		if ps := snd.GetParameters(); len(ps.Encodings) > 0 {
			ssrc = uint32(ps.Encodings[0].SSRC)
		}
		e.mu.Lock()
		e.senders[t.key] = snd
		if e.ssrcs == nil {
			e.ssrcs = map[trackKey]uint32{}
		}
		e.ssrcs[t.key] = ssrc
		e.mu.Unlock()
		changed = true
		key := t.key
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.s.readRTCP(snd, e.room, e.peer, key)
		}()
	}
	for k, snd := range e.senders {
		if keep[k] {
			continue
		}
		if err := pc.RemoveTrack(snd); err != nil {
			return false, fmt.Errorf("remove track: %w", err)
		}
		e.mu.Lock()
		delete(e.senders, k)
		delete(e.ssrcs, k)
		e.mu.Unlock()
		changed = true
	}
	return changed, nil
}

// readRTCP drains a sender's RTCP (the interceptors need it read) until
// the sender stops, and passes the receiver's keyframe requests for the
// stream key of room upstream (to its publisher, or this node's page), or
// for a composed stream to receiver to's encoder.
func (s *Service) readRTCP(snd *webrtc.RTPSender, room string, to peer.ID, key trackKey) {
	for {
		pkts, _, err := snd.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.keyframeRequested(room, to, key)
			}
		}
	}
}

// inEdge is one PeerConnection on which a member sends this node media.
type inEdge struct {
	s      *Service
	room   string
	peer   peer.ID
	ctx    context.Context
	cancel context.CancelFunc
	conn   *sigConn

	mu        sync.Mutex
	wantMix   bool
	wantVideo bool
	pc        *webrtc.PeerConnection
	stats     stats.Getter
	path      *pathWatch
	remote    []*webrtc.TrackRemote
	jit       map[uint32]*jitter
	rs        rateSampler
	state     webrtc.PeerConnectionState
}

func (e *inEdge) sendPrefs(on, video bool) {
	e.mu.Lock()
	e.wantMix, e.wantVideo = on, video
	e.mu.Unlock()
	_ = e.conn.write(signalMsg{Type: sigPrefs, Mix: &on, Video: &video})
}

// serveInbound runs one inbound edge until the sender or the service ends it.
// errSetupTimeout ends an inbound edge whose sender did not make the
// connection work within SignalTimeout of its hello.
var errSetupTimeout = errors.New("no working connection within the signaling timeout")

func (s *Service) serveInbound(st network.Stream) error {
	defer func() { _ = st.Reset() }()
	from := st.Conn().RemotePeer()
	conn := newSigConn(st, s.params)
	_ = st.SetReadDeadline(time.Now().Add(s.params.SignalTimeout))
	hello, err := conn.read()
	if err != nil {
		return err
	}
	_ = st.SetReadDeadline(time.Time{})
	if hello.Type != sigHello {
		return errors.New("expected hello")
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	e := &inEdge{s: s, room: hello.Room, peer: from, ctx: ctx, cancel: cancel, conn: conn}
	if err := s.registerInbound(e); err != nil {
		_ = conn.write(signalMsg{Type: sigError, Reason: err.Error()})
		return err
	}
	defer s.inboundDone(e)
	pc, getter, err := s.newPC(e.room)
	if err != nil {
		return err
	}
	var trackWG sync.WaitGroup
	defer func() {
		_ = pc.Close()
		trackWG.Wait()
	}()
	path := watchPath(pc)
	e.mu.Lock()
	e.pc, e.stats, e.path = pc, getter, path
	wantMix, wantVideo := e.wantMix, e.wantVideo
	e.mu.Unlock()
	if wantMix {
		e.sendPrefs(true, wantVideo)
	}
	conn.sendCandidates(pc)
	// The sender has SignalTimeout from its hello to make the connection
	// work (offer, answer, ICE, DTLS); a stream that idles instead is ended.
	connected := make(chan struct{}, 1)
	// (time.After rather than a timer stopped by a defer: one more defer
	// in this function made the race detector report pion's OnTrack
	// goroutine against the deferred calls' records.)
	setupC := time.After(s.params.SignalTimeout)
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		e.mu.Lock()
		e.state = state
		e.mu.Unlock()
		switch state {
		case webrtc.PeerConnectionStateConnected:
			select {
			case connected <- struct{}{}:
			default:
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			cancel()
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		e.mu.Lock()
		if len(e.remote) >= s.params.MaxTracks || ctx.Err() != nil {
			e.mu.Unlock()
			return
		}
		e.remote = append(e.remote, tr)
		e.mu.Unlock()
		trackWG.Add(1)
		go func() {
			defer trackWG.Done()
			s.receiveTrack(e, pc, tr)
			e.mu.Lock()
			e.remote = slices.DeleteFunc(e.remote, func(x *webrtc.TrackRemote) bool { return x == tr })
			e.mu.Unlock()
		}()
	})

	msgs, readErr := conn.pump(ctx, &s.wg)
	remote := trickle{max: s.params.MaxCandidates}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-connected:
			setupC = nil
		case <-setupC:
			_ = conn.write(signalMsg{Type: sigError, Reason: "no connection within " + s.params.SignalTimeout.String()})
			return errSetupTimeout
		case err := <-readErr:
			return fmt.Errorf("signaling: %w", err)
		case m := <-msgs:
			switch m.Type {
			case sigOffer:
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
					_ = conn.write(signalMsg{Type: sigError, Reason: "bad offer"})
					return fmt.Errorf("set offer: %w", err)
				}
				if err := remote.flush(pc); err != nil {
					return err
				}
				ans, err := pc.CreateAnswer(nil)
				if err != nil {
					return fmt.Errorf("create answer: %w", err)
				}
				if err := pc.SetLocalDescription(ans); err != nil {
					return fmt.Errorf("set local description: %w", err)
				}
				if err := conn.write(signalMsg{Type: sigAnswer, SDP: ans.SDP}); err != nil {
					return err
				}
			case sigCand:
				if err := remote.add(pc, *m.Cand); err != nil {
					return err
				}
			case sigMixed:
				s.mixedReply(e.room, e.peer, *m.Mix, m.Reason, m.Video, m.VReason)
			case sigError:
				return fmt.Errorf("sender: %s", m.Reason)
			default:
				return fmt.Errorf("unexpected %s from the sender", m.Type)
			}
		}
	}
}
